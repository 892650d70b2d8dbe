package main

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// meanFileSize is the mean size of a generated file: BENCH_SIZE/meanFileSize
// files, so 500 MB gives ≈50k files.
const meanFileSize = 10 << 10

// genTree writes a reproducible tree of about size bytes under dir, from a
// PRNG seeded with seed: file sizes log-normal (median ≈3 KiB, a tail of
// multi-megabyte files) scaled so that they sum to size, 64 files to a
// directory, three levels deep; 70% of the files are text drawn from a
// pseudo-word vocabulary (gzip shrinks it ≈3×), 30% random bytes (which no
// compressor shrinks). Modes 0644/0755, mtimes fixed. It returns the number of
// files written.
func genTree(dir string, size int64, seed uint64) (int, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	n := int(size / meanFileSize)
	if n < 1 {
		n = 1
	}
	sizes := make([]float64, n)
	var sum float64
	for i := range sizes {
		// log-normal, σ=1.5: mean = median·e^(σ²/2) ≈ 3.1·median
		sizes[i] = math.Exp(rng.NormFloat64() * 1.5)
		sum += sizes[i]
	}
	vocab := vocabulary(rng)
	chacha := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	epoch := time.Unix(1700000000, 0)
	var written int64
	for i, s := range sizes {
		sz := int64(s / sum * float64(size))
		if i == n-1 {
			sz = max(size-written, 0)
		}
		written += sz
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i/4096%64), fmt.Sprintf("d%02d", i/64%64))
		if i%64 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return 0, fmt.Errorf("gentree: %w", err)
			}
		}
		text := rng.IntN(10) < 7
		ext := ".bin"
		if text {
			ext = ".txt"
		}
		p := filepath.Join(sub, fmt.Sprintf("f%06d%s", i, ext))
		if err := writeFile(p, sz, text, rng, vocab, chacha); err != nil {
			return 0, err
		}
		if err := os.Chtimes(p, epoch, epoch); err != nil {
			return 0, fmt.Errorf("gentree: %w", err)
		}
	}
	return n, nil
}

func writeFile(p string, size int64, text bool, rng *rand.Rand, vocab [][]byte, chacha *rand.ChaCha8) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("gentree: %w", err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	if text {
		var col int
		for left := size; left > 0; {
			word := vocab[rng.IntN(len(vocab))]
			if int64(len(word)) >= left {
				word = word[:left]
			}
			w.Write(word)
			left -= int64(len(word))
			col += len(word)
			if left == 0 {
				break
			}
			sep := byte(' ')
			if col > 72 {
				sep, col = '\n', 0
			}
			w.WriteByte(sep)
			left--
		}
	} else {
		buf := make([]byte, 32<<10)
		for left := size; left > 0; {
			k := min(left, int64(len(buf)))
			chacha.Read(buf[:k])
			w.Write(buf[:k])
			left -= k
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("gentree: %s: %w", p, err)
	}
	return f.Close()
}

// vocabulary returns 4096 pseudo-words of 2 to 11 lowercase letters.
func vocabulary(rng *rand.Rand) [][]byte {
	v := make([][]byte, 4096)
	for i := range v {
		w := make([]byte, 2+rng.IntN(10))
		for j := range w {
			w[j] = 'a' + byte(rng.IntN(26))
		}
		v[i] = w
	}
	return v
}
