package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// blobWriter writes a layer's compressed bytes to its temporary file and
// counts them. Its first error, naming the temporary directory, sticks.
type blobWriter struct {
	f   *os.File
	dir string

	mu  sync.Mutex // the compressor may write from a goroutine of its own
	n   int64
	err error
}

func (w *blobWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		w.err = blobError(w.dir, err)
	}
	return n, w.err
}

// result returns the bytes written and the first error.
func (w *blobWriter) result() (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n, w.err
}

// blobError says that writing a blob in dir failed, without the temporary
// file's name (it has none, or had one only for an instant):
// "writing layer blob in /x: no space left on device".
func blobError(dir string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("writing layer blob in %s: %w", dir, err)
}
