package unpack

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// benchLayer is a gzip layer of 4,000 files (about 64 MB), half of each
// file random and half repeated text, in 40 directories.
func benchLayer(b *testing.B) (*rawLayer, []byte) {
	r := rand.New(rand.NewPCG(1, 2))
	var es []ent
	for d := 0; d < 40; d++ {
		es = append(es, dir(fmt.Sprintf("d%02d", d)))
		for f := 0; f < 100; f++ {
			body := make([]byte, 16<<10)
			for i := 0; i < len(body)/2; i++ {
				body[i] = byte(r.UintN(256))
			}
			for i := len(body) / 2; i < len(body); i++ {
				body[i] = "jailimg "[i%8]
			}
			es = append(es, file(fmt.Sprintf("d%02d/f%03d", d, f), string(body)))
		}
	}
	tb := tarOf(b, es...)
	blob := gz(b, tb)
	return honest(tb, blob, "application/vnd.oci.image.layer.v1.tar+gzip"), blob
}

// BenchmarkUnpack compares Unpack with `tar -xzf` of the same layer, both on
// /dev/shm (tmpfs) when it exists so that disk noise does not dominate.
func BenchmarkUnpack(b *testing.B) {
	l, blob := benchLayer(b)
	base := os.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	work, err := os.MkdirTemp(base, "unpack-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(work)
	blobPath := filepath.Join(work, "layer.tar.gz")
	if err := os.WriteFile(blobPath, blob, 0o644); err != nil {
		b.Fatal(err)
	}
	img := imageOf(b, true, l)
	b.Run("jailimg", func(b *testing.B) {
		b.SetBytes(int64(len(blob)))
		for i := 0; b.Loop(); i++ {
			target := filepath.Join(work, fmt.Sprintf("j%d", i))
			if _, err := Unpack(context.Background(), img, target); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			os.RemoveAll(target)
			b.StartTimer()
		}
	})
	b.Run("tar-xzf", func(b *testing.B) {
		if _, err := exec.LookPath("tar"); err != nil {
			b.Skip("no tar")
		}
		b.SetBytes(int64(len(blob)))
		for i := 0; b.Loop(); i++ {
			target := filepath.Join(work, fmt.Sprintf("t%d", i))
			os.Mkdir(target, 0o755)
			if out, err := exec.Command("tar", "-xzf", blobPath, "-C", target).CombinedOutput(); err != nil {
				b.Fatalf("tar: %v: %s", err, out)
			}
			b.StopTimer()
			os.RemoveAll(target)
			b.StartTimer()
		}
	})
}
