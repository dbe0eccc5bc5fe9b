// wharf as a Jenkins shared-library step. Load the library with
// `libraryPath: 'jenkins/'` (README.md there), then:
//
//     def result = wharf.run(image: 'registry.example.com/shop/api:1.4.2',
//                            oidcCredentialsId: 'sigstore-oidc')
//     wharf.verify(image: result.summary.image_ref, certificateIdentity: '...',
//                  certificateOidcIssuer: '...')
//     wharf(stage: 'sign', image: '...')          // the same, by name
//
// Each call turns its options into an argument list for the wharf binary
// and runs it: every argument is single-quoted on its own (shellQuote), so
// no value a job passes is ever read as shell code. The OIDC token reaches
// wharf only as the environment variable SIGSTORE_ID_TOKEN, bound from an
// OpenID Connect Provider plugin credential for the stages that sign.
//
// Plain loops, no closures over collections: the code runs under Jenkins'
// CPS interpreter, and compiles with Groovy 2.4.

/** `wharf(stage: 'sign', ...)`: the stage by name; `run` when none is given. */
def call(Map cfg = [:]) {
    String stage = cfg.stage ? cfg.stage.toString() : 'run'
    return runStage(stage, cfg)
}

// One method per stage. (`run` has no default argument: a generated run()
// would replace the script's own body.)

/** `wharf run`: the whole pipeline with its gates. Returns [status, summary, summaryFile]. */
def run(Map cfg) { return runStage('run', cfg) }

/** `wharf pin`: image references pinned to digests (`check: true` gates). */
def pin(Map cfg = [:]) { return runStage('pin', cfg) }

/** `wharf sbom IMAGE`. */
def sbom(Map cfg = [:]) { return runStage('sbom', cfg) }

/** `wharf scan IMAGE`, gated on `failOn`. */
def scan(Map cfg = [:]) { return runStage('scan', cfg) }

/** `wharf sign IMAGE` (keyless with `oidcCredentialsId`, or `key`). */
def sign(Map cfg = [:]) { return runStage('sign', cfg) }

/** `wharf attest IMAGE --type T (--predicate F | --generate)`. */
def attest(Map cfg = [:]) { return runStage('attest', cfg) }

/** `wharf verify IMAGE` against an identity or a key. */
def verify(Map cfg = [:]) { return runStage('verify', cfg) }

/** `wharf promote IMAGE@DIGEST FILE...`. */
def promote(Map cfg = [:]) { return runStage('promote', cfg) }

/**
 * What each stage accepts. `options` maps a key to its flag, in the order
 * the flags are written; `positional` lists the keys written after `--`
 * (a value starting with `-` is then still an operand); `token` says the
 * stage may sign, so it gets the OIDC credential.
 */
Map stageSpecs() {
    Map signing = [
        key: '--key', tlogUpload: '--tlog-upload', bundleFormat: '--bundle-format',
        trustConfig: '--trust-config',
    ]
    Map identity = [
        certificateIdentity: '--certificate-identity',
        certificateIdentityRegexp: '--certificate-identity-regexp',
        certificateOidcIssuer: '--certificate-oidc-issuer',
        certificateOidcIssuerRegexp: '--certificate-oidc-issuer-regexp',
        key: '--key', insecureIgnoreTlog: '--insecure-ignore-tlog',
    ]
    return [
        run: [
            token: true, positional: ['image'], required: [],
            defaults: [outputJson: 'wharf-run.json'],
            options: [
                config: '--config', outputDir: '--output-dir', outputJson: '--output-json',
                failOn: '--fail-on', db: '--db', key: '--key', promote: '--promote',
                noPromote: '--no-promote',
            ],
        ],
        pin: [
            token: false, positional: ['paths'], required: [], defaults: [:],
            options: [
                check: '--check', write: '--write', style: '--style', platform: '--platform',
                format: '--format',
            ],
        ],
        sbom: [
            token: false, positional: ['image'], required: ['image'], defaults: [:],
            options: [format: '--format', output: '--output', platform: '--platform'],
        ],
        scan: [
            token: false, positional: ['image'], required: [], defaults: [:],
            options: [
                sbom: '--sbom', db: '--db', failOn: '--fail-on', ignoreUnfixed: '--ignore-unfixed',
                ignoreFile: '--ignore-file', vex: '--vex', format: '--format', output: '--output',
                maxDbAge: '--max-db-age', platform: '--platform',
            ],
        ],
        sign: [
            token: true, positional: ['image'], required: ['image'], defaults: [:],
            options: [annotations: '--annotation'] + signing,
        ],
        attest: [
            token: true, positional: ['image'], required: ['image', 'type'], defaults: [:],
            options: [predicate: '--predicate', type: '--type', generate: '--generate'] + signing,
        ],
        verify: [
            token: false, positional: ['image'], required: ['image'], defaults: [:],
            options: identity + [
                attestationType: '--attestation-type', outputPredicate: '--output-predicate',
                annotations: '--annotation', trustedRoot: '--trusted-root',
                trustConfig: '--trust-config', format: '--format',
            ],
        ],
        promote: [
            token: false, positional: ['image', 'files'], required: ['image', 'files'],
            defaults: [:],
            options: [
                check: '--check', write: '--write', commit: '--commit',
                pullRequest: '--pull-request', repo: '--repo', base: '--base',
                scanReport: '--scan-report', target: '--target', valuesPath: '--values-path',
                noVerify: '--no-verify', trustedRoot: '--trusted-root',
                trustConfig: '--trust-config',
            ] + identity,
        ],
    ]
}

/** Keys every stage takes that are not wharf flags. */
List<String> libraryKeys() {
    return ['stage', 'wharf', 'oidcCredentialsId', 'returnStatus', 'insecureRegistries']
}

/** Flags whose boolean is written as a value (`--tlog-upload false`), not as presence. */
List<String> valuedBooleans() {
    return ['--tlog-upload']
}

/**
 * The argument list for `stage` with the options in `cfg`: the wharf
 * executable first. Throws (through `error`) on an unknown key, a missing
 * required value or a value that cannot be an argument.
 */
List<String> buildArgv(String stage, Map cfg) {
    Map spec = stageSpecs()[stage]
    if (spec == null) {
        error("wharf: unknown stage '${stage}'; the stages are ${stageSpecs().keySet().join(', ')}")
    }
    Map options = spec.options
    List positional = spec.positional
    List<String> known = new ArrayList<String>(libraryKeys())
    known.addAll(options.keySet())
    known.addAll(positional)
    for (Object key : cfg.keySet()) {
        if (!known.contains(key.toString())) {
            error("wharf ${stage}: unknown option '${key}'; ${stage} takes ${known.join(', ')}")
        }
    }
    if (cfg.stage && cfg.stage.toString() != stage) {
        error("wharf ${stage}: called with stage: '${cfg.stage}'")
    }
    Map values = [:]
    values.putAll(spec.defaults)
    for (Object key : cfg.keySet()) {
        values[key.toString()] = cfg[key]
    }
    for (Object key : spec.required) {
        if (!isSet(values[key])) {
            error("wharf ${stage}: '${key}' is required")
        }
    }

    List<String> argv = [(cfg.wharf ? cfg.wharf.toString() : 'wharf'), stage]
    for (Object host : asList(values.insecureRegistries)) {
        argv.add('--insecure-registry')
        argv.add(argument(stage, 'insecureRegistries', host))
    }
    for (Object key : options.keySet()) {
        if (!values.containsKey(key) || !isSet(values[key])) {
            continue
        }
        String flag = options[key]
        Object value = values[key]
        if (value instanceof Boolean) {
            if (valuedBooleans().contains(flag)) {
                argv.add(flag)
                argv.add(value.toString())
            } else if (value) {
                argv.add(flag)
            }
        } else if (value instanceof Map) {
            for (Object entry : value.entrySet()) {
                argv.add(flag)
                argv.add(argument(stage, key.toString(), "${entry.key}=${entry.value}"))
            }
        } else if (value instanceof Collection) {
            for (Object item : value) {
                argv.add(flag)
                argv.add(argument(stage, key.toString(), item))
            }
        } else {
            argv.add(flag)
            argv.add(argument(stage, key.toString(), value))
        }
    }
    List<String> operands = []
    for (Object key : positional) {
        for (Object item : asList(values[key])) {
            operands.add(argument(stage, key.toString(), item))
        }
    }
    if (!operands.isEmpty()) {
        argv.add('--')
        argv.addAll(operands)
    }
    return argv
}

/** A value as one argument; NUL cannot be in an argument, so it is refused. */
String argument(String stage, String key, Object value) {
    String s = value.toString()
    if (s.indexOf('\u0000') >= 0) {
        error("wharf ${stage}: '${key}' contains a NUL character, which no argument can hold")
    }
    return s
}

boolean isSet(Object value) {
    if (value == null) {
        return false
    }
    if (value instanceof CharSequence) {
        return !value.toString().isEmpty()
    }
    if (value instanceof Collection || value instanceof Map) {
        return !value.isEmpty()
    }
    return true
}

List asList(Object value) {
    if (!isSet(value)) {
        return []
    }
    if (value instanceof Collection) {
        List items = []
        for (Object item : value) {
            if (isSet(item)) {
                items.add(item)
            }
        }
        return items
    }
    return [value]
}

/**
 * `s` as one POSIX shell word: inside single quotes nothing is special but
 * the single quote itself, which ends the quoting, is written as \' and
 * reopens it. `$(...)`, backquotes, `"`, `;`, newlines, globs all stay text.
 */
String shellQuote(String s) {
    return "'" + s.replace("'", "'\\''") + "'"
}

/** The argument list as the one command line `sh` takes. */
String shellCommand(List<String> argv) {
    List<String> words = []
    for (String arg : argv) {
        words.add(shellQuote(arg))
    }
    return words.join(' ')
}

def runStage(String stage, Map cfg) {
    List<String> argv = buildArgv(stage, cfg)
    String command = shellCommand(argv)
    String label = "wharf ${stage}"
    int status
    boolean bindToken = stageSpecs()[stage].token && isSet(cfg.oidcCredentialsId)
    if (bindToken) {
        // The OpenID Connect Provider plugin's "OpenID Connect id token"
        // credential yields the token as secret text; wharf reads it from
        // SIGSTORE_ID_TOKEN. It is never part of the command line.
        withCredentials([string(credentialsId: cfg.oidcCredentialsId.toString(),
                                variable: 'SIGSTORE_ID_TOKEN')]) {
            status = sh(script: command, returnStatus: true, label: label)
        }
    } else {
        status = sh(script: command, returnStatus: true, label: label)
    }

    def summary = null
    String summaryFile = null
    if (stage == 'run') {
        Object out = cfg.containsKey('outputJson') ? cfg.outputJson : stageSpecs().run.defaults.outputJson
        if (isSet(out)) {
            summaryFile = out.toString()
            summary = readSummary(summaryFile)
        }
    }
    if (status != 0 && !cfg.returnStatus) {
        if (status == 1) {
            error("wharf ${stage}: a policy said no (exit 1: a gate, a verification or a check " +
                  "failed); wharf's output above says which. Pass returnStatus: true to handle it yourself")
        }
        error("wharf ${stage} could not do the job (exit ${status}); wharf's error is above")
    }
    if (stage == 'run') {
        return [status: status, summary: summary, summaryFile: summaryFile]
    }
    return status
}

/** run.json as a Map with Pipeline Utility Steps' readJSON, else null (the file stays). */
def readSummary(String path) {
    if (!fileExists(path)) {
        return null
    }
    try {
        return readJSON(file: path)
    } catch (NoSuchMethodError e) {
        // Jenkins: "No such DSL method 'readJSON'" (the plugin is not installed).
        echo "wharf: the run summary is in ${path} (install Pipeline Utility Steps to get it as a map)"
    } catch (MissingMethodException e) {
        echo "wharf: the run summary is in ${path} (install Pipeline Utility Steps to get it as a map)"
    }
    return null
}
