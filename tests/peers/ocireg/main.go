// ocireg serves go-containerregistry's in-memory registry with the OCI 1.1
// referrers API turned on, on the address given, for wharf's interop tests.
// It prints "listening on HOST:PORT" once the socket is bound, so a test can
// ask for port 0 and read the port back.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("ocireg: listen on %s: %v", *addr, err)
	}
	fmt.Fprintf(os.Stdout, "listening on %s\n", ln.Addr())
	handler := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(os.Stderr, "", log.LstdFlags)))
	log.Fatal(http.Serve(ln, handler))
}
