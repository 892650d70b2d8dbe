package registrytest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
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

// TestBlobGETs checks that the access log counts a blob's GETs, and only
// its own.
func TestBlobGETs(t *testing.T) {
	r := Start(t)
	const digest = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	other := strings.Replace(digest, "01", "02", 1)
	for range 2 {
		resp, err := http.Get("http://" + r.Addr + "/v2/x/blobs/" + digest)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if resp, err := http.Head("http://" + r.Addr + "/v2/x/blobs/" + digest); err == nil {
		resp.Body.Close()
	}
	if got := r.BlobGETs(digest); got != 2 {
		t.Errorf("BlobGETs(%s) = %d, want 2\n%s", digest, got, r.Log())
	}
	if got := r.BlobGETs(other); got != 0 {
		t.Errorf("BlobGETs(%s) = %d, want 0", other, got)
	}
}
