package trace

import (
	"errors"
	"io/fs"
	"path"
	"syscall"

	"github.com/jailimg/jailimg/pkg/resolve"
)

// accessed sorts the successful calls (and mkdir's EEXIST) into files,
// libraries, directories, links, devices and writable directories.
func (b *fragBuilder) accessed(res *Result) {
	b.written = map[string]bool{}
	reads, readlinks := b.classify(res.Accessed)
	for _, r := range res.Failed {
		if r.Kind == Mkdir && r.Errno == "EEXIST" && !pseudo(r.Path) {
			b.addWritten(r.Path, r.Path)
		}
	}
	for _, p := range sortedKeys(b.written) {
		b.addWritten(path.Dir(p), p)
	}
	for _, p := range sortedKeys(reads) {
		b.read(p, reads[p])
	}
	for _, p := range readlinks {
		b.readlink(p)
	}
}

// classify files the successful calls that stand alone (devices, generated
// files, mkdirs, writes) and returns the others for later, once every write
// is known: the paths read, with the kind of the first call on each, and the
// links read.
func (b *fragBuilder) classify(accessed []Record) (reads map[string]Kind, readlinks []string) {
	reads = map[string]Kind{}
	for _, r := range accessed {
		p := r.Path
		switch {
		case r.Kind == Exec:
		case pseudo(p):
			if r.Kind == Open && path.Dir(p) == "/dev" {
				b.device(p)
			}
		case loaderState(p):
		case generatedBy(p) != "":
			b.gen[p] = generatedBy(p)
		case r.Kind == Mkdir:
			b.addWritten(p, p)
		case r.Kind == Open && r.Write:
			b.written[p] = true
		case r.Kind == Readlink:
			readlinks = append(readlinks, p)
		default:
			if _, ok := reads[p]; !ok {
				reads[p] = r.Kind
			}
		}
	}
	return reads, readlinks
}

// readlink files the symlink p the command read, with the links on the way
// to it, unless the ELF closure has it.
func (b *fragBuilder) readlink(p string) {
	w, err := b.resolver.WalkNoFollow(p)
	if err != nil || w.Info == nil || w.Info.Mode()&fs.ModeSymlink == 0 || b.explained[w.Real] {
		return
	}
	if target, err := fs.ReadLink(b.fsys, w.Name()); err == nil {
		b.addLinks(append(w.Links, resolve.Link{Path: w.Real, Target: target}))
	}
}

// read files one path the command read, stat'ed or entered.
func (b *fragBuilder) read(p string, kind Kind) {
	if b.written[p] {
		return // its own output
	}
	w, err := b.resolver.Walk(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			b.note("%v", err)
		}
		return
	}
	real := w.Real
	if b.explained[real] || b.explained[p] || b.written[real] || pseudo(real) || loaderState(real) {
		return
	}
	if _, ok := b.bins[real]; ok {
		return
	}
	switch {
	case w.Info.Mode().IsRegular():
		if kind == Open && b.sharedObject(w.Name()) {
			b.libs[p] = true
			return
		}
		b.addFile(real, w.Links)
	case w.Info.IsDir():
		b.addLinks(w.Links)
		if _, ok := b.dirs[real]; !ok {
			b.dirs[real] = nil
		}
	}
}

// device records a device node opened under /dev.
func (b *fragBuilder) device(p string) {
	w, err := b.resolver.Walk(p)
	if err != nil || w.Info.Mode()&fs.ModeDevice == 0 {
		return
	}
	fi := w.Info
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	d := Device{Path: p, Type: "block", Major: major(uint64(st.Rdev)), Minor: minor(uint64(st.Rdev))}
	if fi.Mode()&fs.ModeCharDevice != 0 {
		d.Type = "char"
	}
	if name := path.Base(p); safeDevices[name] && d.Type == "char" {
		d.Name = name
	}
	b.devs[p] = d
}

// major and minor split a Linux dev_t.
func major(dev uint64) uint32 { return uint32((dev>>8)&0xfff | (dev>>32)&^0xfff) }
func minor(dev uint64) uint32 { return uint32(dev&0xff | (dev>>12)&^0xff) }
