// Loads jenkins/vars/wharf.groovy the way Jenkins exposes a `vars/` step,
// with the Pipeline steps it uses stubbed (sh, withCredentials, string,
// readJSON, fileExists, echo, error), and checks the exact command line it
// hands to `sh` for several calls. Hostile values are also run through a
// real /bin/sh with a stand-in wharf that records the argv it receives: it
// must be exactly the list the step built, and nothing may have executed.
//
//     groovy tests/jenkins/harness.groovy jenkins/vars/wharf.groovy
//
// Exits non-zero (an uncaught AssertionError) on the first failure. Runs
// on Groovy 2.4 (Debian's `groovy`). With a second argument `--flags` it
// only prints `STAGE FLAG` per line, every flag each stage can write, for
// the Rust test to check against `wharf STAGE --help`.

if (args.length < 1 || args.length > 2 || (args.length == 2 && args[1] != '--flags')) {
    System.err.println('usage: groovy harness.groovy PATH/TO/vars/wharf.groovy [--flags]')
    System.exit(2)
}
File library = new File(args[0])

/** Why a stubbed `error` step stopped the call. */
class StepError extends RuntimeException {
    StepError(String message) { super(message) }
}

/** What the stubs saw, and what they answer. */
class Recorder {
    List<Map> sh = []
    List<List> credentials = []
    List<String> echoes = []
    boolean inCredentials = false
    int status = 0
    Map json = null
    boolean summaryExists = true
    // When set: `sh` runs the command with /bin/sh in this directory.
    File execDir = null
}

Recorder rec = new Recorder()

def load = { Recorder r, boolean withReadJson ->
    Binding binding = new Binding()
    binding.setVariable('sh', { Map m ->
        r.sh << [script: m.script, returnStatus: m.returnStatus, label: m.label,
                 inCredentials: r.inCredentials]
        if (r.execDir != null) {
            Process p = ['/bin/sh', '-e', '-c', m.script].execute(
                ["PATH=${System.getenv('PATH')}", "ARGV_FILE=${new File(r.execDir, 'argv')}"],
                r.execDir)
            p.waitForProcessOutput(System.out, System.err)
            return p.exitValue()
        }
        return r.status
    })
    binding.setVariable('withCredentials', { List bindings, Closure body ->
        r.credentials << bindings
        r.inCredentials = true
        try {
            return body.call()
        } finally {
            r.inCredentials = false
        }
    })
    binding.setVariable('string', { Map m -> [kind: 'string'] + m })
    binding.setVariable('fileExists', { String path -> r.summaryExists })
    binding.setVariable('echo', { String message -> r.echoes << message })
    binding.setVariable('error', { String message -> throw new StepError(message) })
    if (withReadJson) {
        binding.setVariable('readJSON', { Map m -> (r.json ?: [:]) + [readFrom: m.file] })
    }
    return new GroovyShell(binding).parse(library)
}

if (args.length == 2) {
    def specs = load(rec, true).stageSpecs()
    for (String stage : specs.keySet()) {
        for (Object flag : specs[stage].options.values()) {
            println "${stage} ${flag}"
        }
    }
    println "run --insecure-registry"
    return
}

int checks = 0
def check = { String name, Closure body ->
    rec.sh.clear(); rec.credentials.clear(); rec.echoes.clear()
    rec.status = 0; rec.json = null; rec.summaryExists = true; rec.execDir = null
    body.call()
    checks++
    println "ok ${checks} - ${name}"
}

def expectError = { String needle, Closure body ->
    try {
        body.call()
    } catch (StepError e) {
        assert e.message.contains(needle): "error '${e.message}' does not mention '${needle}'"
        return
    }
    assert false: "expected an error mentioning '${needle}'"
}

def wharf = load(rec, true)

// --- the command lines, exactly -------------------------------------------

check('run: defaults, image after --, no credential without an id') {
    def result = wharf.run(image: 'ghcr.io/acme/app:1.4.2')
    assert rec.sh.size() == 1
    assert rec.sh[0].script ==
        "'wharf' 'run' '--output-json' 'wharf-run.json' '--' 'ghcr.io/acme/app:1.4.2'"
    assert rec.sh[0].returnStatus == true
    assert rec.sh[0].label == 'wharf run'
    assert rec.credentials.isEmpty()
    assert result.status == 0
    assert result.summaryFile == 'wharf-run.json'
}

check('run: every flag in order, token bound for the run only') {
    rec.json = [outcome: 'ok', digest: 'sha256:' + 'a' * 64]
    def result = wharf.run(image: 'ghcr.io/acme/app:1.4.2', config: 'ci/wharf.yaml',
                           outputDir: 'out', outputJson: 'out/summary.json', failOn: 'high',
                           db: '/osv/all.zip', promote: ['deploy/values.yaml', 'deploy/prod.yaml'],
                           insecureRegistries: ['127.0.0.1:5000'], wharf: '/opt/wharf/bin/wharf',
                           oidcCredentialsId: 'sigstore-oidc')
    assert rec.sh[0].script == "'/opt/wharf/bin/wharf' 'run' '--insecure-registry' '127.0.0.1:5000' " +
        "'--config' 'ci/wharf.yaml' '--output-dir' 'out' '--output-json' 'out/summary.json' " +
        "'--fail-on' 'high' '--db' '/osv/all.zip' '--promote' 'deploy/values.yaml' " +
        "'--promote' 'deploy/prod.yaml' '--' 'ghcr.io/acme/app:1.4.2'"
    assert rec.credentials == [[[kind: 'string', credentialsId: 'sigstore-oidc',
                                 variable: 'SIGSTORE_ID_TOKEN']]]
    assert rec.sh[0].inCredentials
    assert !rec.sh[0].script.contains('SIGSTORE_ID_TOKEN')
    assert result.summary.outcome == 'ok'
    assert result.summary.readFrom == 'out/summary.json'
}

check('call: the stage by name, the same argv as the method') {
    wharf(stage: 'sign', image: 'ghcr.io/acme/app@sha256:' + 'b' * 64,
          oidcCredentialsId: 'sigstore-oidc', annotations: [env: 'prod', team: 'shop'],
          bundleFormat: 'both', tlogUpload: true)
    wharf.sign(image: 'ghcr.io/acme/app@sha256:' + 'b' * 64, oidcCredentialsId: 'sigstore-oidc',
               annotations: [env: 'prod', team: 'shop'], bundleFormat: 'both', tlogUpload: true)
    assert rec.sh.size() == 2
    assert rec.sh[0].script == rec.sh[1].script
    assert rec.sh[0].script == "'wharf' 'sign' '--annotation' 'env=prod' '--annotation' 'team=shop' " +
        "'--tlog-upload' 'true' '--bundle-format' 'both' '--' 'ghcr.io/acme/app@sha256:${'b' * 64}'"
    assert rec.sh.every { it.inCredentials }
    assert rec.credentials.size() == 2
}

check('call: no stage means run') {
    wharf(image: 'ghcr.io/acme/app:1')
    assert rec.sh[0].script == "'wharf' 'run' '--output-json' 'wharf-run.json' '--' 'ghcr.io/acme/app:1'"
}

check('sign with a key: --tlog-upload false is a value, not a switch') {
    wharf.sign(image: 'reg/app:1', key: 'cosign.key', tlogUpload: false)
    assert rec.sh[0].script == "'wharf' 'sign' '--key' 'cosign.key' '--tlog-upload' 'false' '--' 'reg/app:1'"
    assert rec.credentials.isEmpty()
}

check('attest --generate: a boolean switch; the token is bound') {
    wharf.attest(image: 'reg/app:1', type: 'slsaprovenance1', generate: true,
                 oidcCredentialsId: 'sigstore-oidc')
    assert rec.sh[0].script == "'wharf' 'attest' '--type' 'slsaprovenance1' '--generate' '--' 'reg/app:1'"
    assert rec.sh[0].inCredentials
}

check('verify: identity flags; never given the token, even when offered') {
    wharf.verify(image: 'reg/app:1', oidcCredentialsId: 'sigstore-oidc',
                 certificateIdentity: 'https://jenkins.example.com/job/app/',
                 certificateOidcIssuer: 'https://jenkins.example.com/oidc',
                 attestationType: 'cyclonedx', format: 'json')
    assert rec.sh[0].script == "'wharf' 'verify' " +
        "'--certificate-identity' 'https://jenkins.example.com/job/app/' " +
        "'--certificate-oidc-issuer' 'https://jenkins.example.com/oidc' " +
        "'--attestation-type' 'cyclonedx' '--format' 'json' '--' 'reg/app:1'"
    assert rec.credentials.isEmpty()
    assert !rec.sh[0].inCredentials
}

check('promote: image then files as operands') {
    wharf.promote(image: 'reg/app:1@sha256:' + 'c' * 64, files: ['deploy/values.yaml', 'k8s/'],
                  write: true, certificateIdentityRegexp: '^https://jenkins\\.example\\.com/.*$',
                  certificateOidcIssuer: 'https://jenkins.example.com/oidc')
    assert rec.sh[0].script == "'wharf' 'promote' '--write' " +
        "'--certificate-identity-regexp' '^https://jenkins\\.example\\.com/.*\$' " +
        "'--certificate-oidc-issuer' 'https://jenkins.example.com/oidc' " +
        "'--' 'reg/app:1@sha256:${'c' * 64}' 'deploy/values.yaml' 'k8s/'"
}

check('pin --check: paths as operands; empty and null values are unset') {
    wharf.pin(check: true, write: false, paths: ['Dockerfile', 'deploy'], platform: '', style: null)
    assert rec.sh[0].script == "'wharf' 'pin' '--check' '--' 'Dockerfile' 'deploy'"
}

check('scan and sbom') {
    wharf.sbom(image: 'reg/app:1', format: 'spdx-json', output: 'sbom.spdx.json')
    wharf.scan(sbom: 'sbom.spdx.json', failOn: 'high', ignoreUnfixed: true, format: 'sarif',
               output: 'scan.sarif')
    assert rec.sh[0].script ==
        "'wharf' 'sbom' '--format' 'spdx-json' '--output' 'sbom.spdx.json' '--' 'reg/app:1'"
    assert rec.sh[1].script == "'wharf' 'scan' '--sbom' 'sbom.spdx.json' '--fail-on' 'high' " +
        "'--ignore-unfixed' '--format' 'sarif' '--output' 'scan.sarif'"
}

// --- hostile values ---------------------------------------------------------

File work = File.createTempDir('wharf-harness', '')
addShutdownHook { work.deleteDir() }
File marker = new File(work, 'pwned')
File stub = new File(work, 'wharf-stub')
// Writes each argument it got, NUL-terminated: the exact argv, newlines included.
stub.text = '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done >"$ARGV_FILE"\n'
stub.setExecutable(true)

List<String> hostile = [
    "\$(touch ${marker})",
    "`touch ${marker}`",
    "it's",
    "'",
    "''",
    'say "hi"',
    "x; touch ${marker}",
    "x && touch ${marker} #",
    "line one\nline two\n",
    "\n",
    '$HOME ${HOME} $1 $@',
    '\\',
    "\\'",
    '*',
    '~',
    ' spaced  out ',
    "tab\there",
    '-rf',
    '--key=/etc/passwd',
]

def argvSeen = { ->
    byte[] bytes = new File(work, 'argv').bytes
    String all = new String(bytes, 'UTF-8')
    assert all.endsWith('\u0000')
    return all.substring(0, all.length() - 1).split('\u0000', -1) as List<String>
}

check('hostile values: quoted text, run by /bin/sh as exactly the argv built') {
    rec.execDir = work
    for (String value : hostile) {
        rec.sh.clear()
        new File(work, 'argv').delete()
        def status = wharf.sign(wharf: stub.path, image: value, key: value,
                                annotations: [(value): value])
        assert status == 0
        List<String> expected = ['sign', '--annotation', "${value}=${value}".toString(),
                                 '--key', value, '--', value]
        List<String> got = argvSeen()
        assert got == expected: "argv for ${value.inspect()}: ${got.inspect()}"
        assert !marker.exists(): "${value.inspect()} ran a command"
        // And the command text itself: each argument is one single-quoted word.
        assert rec.sh[0].script.startsWith("'${stub.path}' 'sign' ")
    }
}

check('shellQuote: the quoting rule itself') {
    assert wharf.shellQuote('') == "''"
    assert wharf.shellQuote("it's") == "'it'\\''s'"
    assert wharf.shellQuote('$(x)') == "'\$(x)'"
    assert wharf.shellQuote('a\nb') == "'a\nb'"
}

check('a NUL character is refused before anything runs') {
    expectError('NUL') { wharf.sign(image: "reg/app:1\u0000--key=x") }
    assert rec.sh.isEmpty()
}

// --- errors, statuses, readJSON ---------------------------------------------

check('an unknown option is an error, not ignored') {
    expectError("unknown option 'failon'") { wharf.run(image: 'reg/app:1', failon: 'high') }
    expectError("unknown option 'oidcCredentialId'") { wharf.sign(image: 'r/a:1', oidcCredentialId: 'x') }
    expectError("unknown stage 'deploy'") { wharf(stage: 'deploy') }
    expectError("called with stage: 'run'") { wharf.sign(stage: 'run', image: 'r/a:1') }
    assert rec.sh.isEmpty()
}

check('a required value missing is an error') {
    expectError("'image' is required") { wharf.sign(key: 'cosign.key') }
    expectError("'type' is required") { wharf.attest(image: 'r/a:1', generate: true) }
    expectError("'files' is required") { wharf.promote(image: 'r/a:1', files: []) }
    assert rec.sh.isEmpty()
}

check('exit 1 fails the build as a policy no; returnStatus hands it back') {
    rec.status = 1
    expectError('a policy said no (exit 1') { wharf.verify(image: 'r/a:1', key: 'cosign.pub') }
    assert wharf.verify(image: 'r/a:1', key: 'cosign.pub', returnStatus: true) == 1
    rec.json = [outcome: 'policy']
    def result = wharf.run(image: 'r/a:1', returnStatus: true)
    assert result.status == 1
    assert result.summary.outcome == 'policy'
}

check('exit 2 fails the build as an error') {
    rec.status = 2
    expectError('could not do the job (exit 2)') { wharf.sign(image: 'r/a:1', key: 'k') }
}

check('without readJSON (no Pipeline Utility Steps) run still works and says where the summary is') {
    def plain = load(rec, false)
    def result = plain.run(image: 'r/a:1')
    assert result.status == 0
    assert result.summary == null
    assert result.summaryFile == 'wharf-run.json'
    assert rec.echoes.size() == 1 && rec.echoes[0].contains('wharf-run.json')
}

check('no summary file: no readJSON call') {
    rec.summaryExists = false
    def result = wharf.run(image: 'r/a:1')
    assert result.summary == null
    assert rec.echoes.isEmpty()
}

println "all ${checks} checks passed"
