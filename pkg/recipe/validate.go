package recipe

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jailimg/jailimg/internal/lazyre"
	"github.com/jailimg/jailimg/internal/printable"
	"github.com/jailimg/jailimg/pkg/dpkg"
)

// safeDevices is the table of device nodes a recipe may name without
// spelling them out: character devices that give a jail nothing to escape with.
var safeDevices = map[string]Device{
	"null":    {Path: "/dev/null", Type: "char", Major: 1, Minor: 3},
	"zero":    {Path: "/dev/zero", Type: "char", Major: 1, Minor: 5},
	"full":    {Path: "/dev/full", Type: "char", Major: 1, Minor: 7},
	"random":  {Path: "/dev/random", Type: "char", Major: 1, Minor: 8},
	"urandom": {Path: "/dev/urandom", Type: "char", Major: 1, Minor: 9},
	"tty":     {Path: "/dev/tty", Type: "char", Major: 5, Minor: 0},
}

// AcceptKinds lists the kinds of `jailimg check` finding a recipe's
// run.accept may name (package check's imageAcceptable; a test keeps them
// equal): design choices of a jail, such as a debug jail's shell. An image
// cannot waive setuid files, capabilities, devices or world-writable paths
// for whoever audits it; only the auditor can, with jailimg check --accept.
var AcceptKinds = []string{"interpreter", "user-writable"}

// Rlimits lists the resource limit names a recipe's run.rlimits may set.
var Rlimits = []string{"as", "core", "cpu", "data", "fsize", "memlock", "nofile", "nproc", "stack"}

// maxEpoch is 9999-12-31T23:59:59Z, the last time RFC 3339 can write.
const maxEpoch = 253402300799

var (
	nameRE   = lazyre.New(`^[a-z0-9][a-z0-9._-]{0,127}$`)
	userRE   = lazyre.New(`^[a-z_][a-z0-9_-]{0,31}$`)
	nssRE    = lazyre.New(`^[a-z0-9_]+$`)
	tzRE     = lazyre.New(`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`)
	envKeyRE = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks the recipe's values, fills in the defaults the rest of the
// pipeline relies on (device short forms, user home and shell) and returns
// every problem found, one error per line.
func (r *Recipe) Validate() error {
	v := &validator{r: r}
	for _, check := range []func(){
		v.header, v.packages, v.binaries, v.libraries, v.files, v.dirs, v.symlinks, v.devices,
		v.users, v.groups, v.nss, v.timezone, v.config, v.run,
	} {
		check()
	}
	slices.SortStableFunc(v.errs, func(a, b error) int { return a.(*Error).Line - b.(*Error).Line })
	return errors.Join(v.errs...)
}

// header checks the image's name, compression and epoch.
func (v *validator) header() {
	r := v.r
	if !nameRE().MatchString(r.Name) {
		v.errorf("name", "%q must be 1-128 characters of a-z 0-9 . _ - starting with a letter or digit", r.Name)
	}
	if r.Compression != "" && r.Compression != "gzip" && r.Compression != "zstd" {
		v.errorf("compression", "%q is not gzip or zstd", r.Compression)
	}
	if r.Epoch != nil && (*r.Epoch < 0 || *r.Epoch > maxEpoch) {
		v.errorf("epoch", "%d is outside 0 to %d (the end of year 9999, as OCI's RFC 3339 times allow)", *r.Epoch, maxEpoch)
	}
}

func (v *validator) binaries() {
	for i, b := range v.r.Binaries {
		key := fmt.Sprintf("binaries[%d]", i)
		v.absPath(key, b.Path)
		v.owners(key, b.Owner, b.Group)
	}
}

// libraries checks each is a soname or an absolute path.
func (v *validator) libraries() {
	for i, l := range v.r.Libraries {
		if strings.Contains(l, "/") {
			v.absPath(fmt.Sprintf("libraries[%d]", i), l)
		} else if l == "" || l == "." || l == ".." {
			v.errorf(fmt.Sprintf("libraries[%d]", i), "%q is not a soname or an absolute path", l)
		}
	}
}

// packages checks each is NAME or NAME=VERSION, once.
func (v *validator) packages() {
	seen := map[string]bool{}
	for i, p := range v.r.Packages {
		key := fmt.Sprintf("packages[%d]", i)
		name, ver, pinned := strings.Cut(p, "=")
		switch {
		case !dpkg.ValidName(name):
			v.errorf(key, "%q is not a Debian package name (lowercase letters, digits, + - ., from 2 characters) or NAME=VERSION", p)
		case pinned && !dpkg.ValidVersion(ver):
			v.errorf(key, "%q: %q is not a Debian version", p, ver)
		case seen[name]:
			v.errorf(key, "%s is named twice", name)
		}
		seen[name] = true
	}
}

func (v *validator) files() {
	for i, f := range v.r.Files {
		key := fmt.Sprintf("files[%d]", i)
		switch {
		case f.From != "" && f.From != "host" && f.From != "packages":
			v.errorf(key+".from", "%q is not host or packages", f.From)
		case f.From != "" && len(v.r.Packages) == 0:
			v.errorf(key+".from", "only a recipe with packages: says where a file comes from (every file comes from the host here)")
		case f.From != "" && !filepath.IsAbs(f.Src):
			v.errorf(key+".from", "%q is relative to the recipe's directory: from applies to absolute sources", f.Src)
		}
		v.source(key+".src", f.Src)
		v.jailPath(key+".dst", f.Dst)
		v.owners(key, f.Owner, f.Group)
	}
}

func (v *validator) dirs() {
	for i, d := range v.r.Dirs {
		key := fmt.Sprintf("dirs[%d]", i)
		v.jailPath(key+".path", d.Path)
		v.owners(key, d.Owner, d.Group)
	}
}

func (v *validator) symlinks() {
	for i, s := range v.r.Symlinks {
		key := fmt.Sprintf("symlinks[%d]", i)
		v.jailPath(key+".path", s.Path)
		switch {
		case s.Target == "":
			v.errorf(key+".target", "is required")
		case printable.HasControl(s.Target):
			v.errorf(key+".target", "%q contains a control character", s.Target)
		}
	}
}

func (v *validator) devices() {
	for i := range v.r.Devices {
		v.device(fmt.Sprintf("devices[%d]", i), &v.r.Devices[i])
	}
}

func (v *validator) nss() {
	for i, s := range v.r.NSS {
		if !nssRE().MatchString(s) {
			v.errorf(fmt.Sprintf("nss[%d]", i), "%q is not an NSS source name such as files or dns", s)
		}
	}
}

func (v *validator) timezone() {
	if tz := v.r.Timezone; tz != "" && (!tzRE().MatchString(tz) || strings.Contains(tz, "..")) {
		v.errorf("timezone", "%q is not a zoneinfo name such as UTC or Europe/Paris", tz)
	}
}

type validator struct {
	r    *Recipe
	errs []error
}

func (v *validator) errorf(key, format string, args ...any) {
	v.errs = append(v.errs, v.r.Errorf(key, format, args...))
}

// absPath checks a host or jail path is absolute and clean.
func (v *validator) absPath(key, p string) bool {
	switch {
	case p == "":
		v.errorf(key, "path is required")
	case !path.IsAbs(p):
		v.errorf(key, "%q is not an absolute path", p)
	case path.Clean(p) != p:
		v.errorf(key, "%q is not clean (want %q)", p, path.Clean(p))
	case strings.ContainsRune(p, 0):
		v.errorf(key, "path contains a NUL byte")
	default:
		return true
	}
	return false
}

// jailPath checks a path in the jail: absolute, clean, not the root, and
// free of control characters (a newline or an escape in a name would forge
// lines in the output of check, verify and inspect).
func (v *validator) jailPath(key, p string) {
	if !v.absPath(key, p) {
		return
	}
	if p == "/" {
		v.errorf(key, "cannot replace the jail's root directory")
	} else if printable.HasControl(p) {
		v.errorf(key, "%q contains a control character", p)
	}
}

// source checks a file source: absolute on the host, or relative to the
// recipe's directory and not leaving it.
func (v *validator) source(key, src string) {
	if src == "" {
		v.errorf(key, "path is required")
		return
	}
	if filepath.IsAbs(src) {
		v.absPath(key, src)
		return
	}
	if c := filepath.Clean(src); c == ".." || strings.HasPrefix(c, "../") {
		v.errorf(key, "%q escapes the recipe directory", src)
	}
}

func (v *validator) device(key string, d *Device) {
	if d.Name != "" {
		safe, ok := safeDevices[d.Name]
		if !ok {
			v.errorf(key, "%q is not in the safe device table (null, zero, full, random, urandom, tty); spell it out as {path, type, major, minor, mode}", d.Name)
			return
		}
		name := d.Name
		*d = safe
		d.Name = name
		m := Mode(0o666)
		d.Mode = &m
		return
	}
	v.jailPath(key+".path", d.Path)
	if d.Type != "char" && d.Type != "block" {
		v.errorf(key+".type", "%q is not char or block", d.Type)
	}
	if d.Mode == nil {
		v.errorf(key+".mode", "is required for a spelled-out device")
	}
	v.owners(key, d.Owner, d.Group)
}
