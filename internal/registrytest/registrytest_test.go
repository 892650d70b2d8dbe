package registrytest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
)

// TestStart checks each variant answers /v2/ as it should, and that a
// restarted registry answers again on the same address.
func TestStart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		scheme string
		want   int
	}{
		{"plain", nil, "http", http.StatusOK},
		{"basic auth", []Option{WithBasicAuth("u", "p")}, "http", http.StatusUnauthorized},
		{"tls", []Option{WithTLS()}, "https", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Start(t, tc.opts...)
			client := http.DefaultClient
			if r.CAFile != "" {
				pem, err := os.ReadFile(r.CAFile)
				if err != nil {
					t.Fatal(err)
				}
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(pem)
				client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			}
			get := func() int {
				resp, err := client.Get(tc.scheme + "://" + r.Addr + "/v2/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if got := get(); got != tc.want {
				t.Errorf("GET /v2/: %d, want %d", got, tc.want)
			}
			r.Stop()
			if _, err := client.Get(tc.scheme + "://" + r.Addr + "/v2/"); err == nil {
				t.Error("stopped registry still answers")
			}
			r.Restart()
			if got := get(); got != tc.want {
				t.Errorf("after restart GET /v2/: %d, want %d", got, tc.want)
			}
		})
	}
}
