package resolve

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// objEntry caches the parse of one real file.
type objEntry struct {
	once sync.Once
	obj  *object
	err  error
}

// object returns the parsed ELF file at the real path, parsing it once per
// Resolver. Errors name the path.
func (r *Resolver) object(w *walkEntry) (*object, error) {
	real := w.real
	r.mu.Lock()
	e := r.objs[real]
	if e == nil {
		e = &objEntry{}
		r.objs[real] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		e.obj, e.err = r.parseFile(w)
		if e.err != nil {
			e.err = fmt.Errorf("%s: %w", real, e.err)
		}
	})
	return e.obj, e.err
}

func (r *Resolver) parseFile(w *walkEntry) (*object, error) {
	size := w.size
	if size > maxFileSize {
		return nil, fmt.Errorf("file too large (%d bytes, limit %d)", size, maxFileSize)
	}
	f, err := r.open(w)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
		if err != nil {
			return nil, err
		}
		ra, size = bytes.NewReader(b), int64(len(b))
	}
	return parseObject(ra, size)
}
