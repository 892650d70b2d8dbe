package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/policy"
)

// Names inside a bundle directory.
const (
	// Current is the symlink naming the live generation.
	Current = "current"
	// GenPrefix starts the name of every generation directory.
	GenPrefix = "gen-"
	// StagingPrefix starts the name of a generation being written.
	StagingPrefix = ".staging-"
	// RootFS is the jail tree inside a generation.
	RootFS = "rootfs"
	// MetaFile holds the generation's Meta as JSON.
	MetaFile = "image.json"
)

// ErrNotBundle is returned by Open for a directory that holds no live
// generation: no current link, or one that does not name a generation.
var ErrNotBundle = errors.New("not a jailimg bundle")

// ErrUnsafe is returned by Open (and Trusted) for a bundle that must not be
// trusted: a generation or rootfs that is not a real directory, an
// image.json that is not a regular file, or a part that someone other than
// root or the effective uid owns or may write. See the package doc.
var ErrUnsafe = errors.New("unsafe bundle")

// MaxMetaSize bounds the size of a generation's image.json.
const MaxMetaSize = 4 << 20

// Meta records what a generation was unpacked from.
type Meta struct {
	// ManifestDigest is the digest of the image manifest, e.g. "sha256:…".
	ManifestDigest string `json:"manifestDigest"`
	// Source is the reference or layout the image came from, for humans.
	Source string `json:"source,omitempty"`
	// Name is the image's name, its org.opencontainers.image.title
	// annotation (a recipe's name: jailimg run's default state directory
	// is /var/lib/jailimg/NAME); empty when the image has none. It is what
	// the image says: not checked here.
	Name string `json:"name,omitempty"`
	// Config is the image's OCI config: entrypoint, cmd, user, env, labels.
	Config v1.ConfigFile `json:"config"`
}

// Bundle is one opened generation of a bundle.
type Bundle struct {
	// Dir is the bundle directory (TARGET).
	Dir string
	// Gen is the absolute path of the live generation directory.
	Gen string
	// Meta describes the image the generation holds.
	Meta Meta

	root FileID // the rootfs directory Open checked
}

// FileID identifies a file on the system: the device and inode numbers
// stat(2) gives it.
type FileID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// idOf returns the identity of the file st describes.
func idOf(st *unix.Stat_t) FileID { return FileID{Dev: st.Dev, Ino: st.Ino} }

// RootID returns the identity of the rootfs directory Open checked. A caller
// that enters the rootfs by path (run's init, which chroots) opens it and
// compares the directory it opened with RootID, so that it enters that very
// directory whatever was renamed since.
func (b *Bundle) RootID() FileID { return b.root }

// RootFS returns the path of the jail tree of the generation. It is the
// path Open checked; Root checks it again right before use.
func (b *Bundle) RootFS() string { return filepath.Join(b.Gen, RootFS) }

// Root returns RootFS after checking, without following a symlink, that the
// path still names the very directory Open checked. Callers that hand the
// path to chroot or walk it call Root right before.
func (b *Bundle) Root() (string, error) {
	p := b.RootFS()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return "", fmt.Errorf("%s: %w: %s, not a directory", p, ErrUnsafe, typeName(st.Mode))
	}
	if idOf(&st) != b.root {
		return "", fmt.Errorf("%s: %w: replaced since the bundle was opened", p, ErrUnsafe)
	}
	return p, nil
}

// OpenRoot opens the jail tree of the generation and checks that it is
// still the very directory Open checked: it is opened beneath the
// generation directory without following a symlink. Callers that walk the
// tree (verify) walk it from this descriptor, never by path.
func (b *Bundle) OpenRoot() (*os.File, error) {
	p := b.RootFS()
	gfd, err := openNoFollow(unix.AT_FDCWD, b.Gen, unix.O_RDONLY|unix.O_DIRECTORY, b.Gen)
	if err != nil {
		return nil, err
	}
	defer unix.Close(gfd)
	fd, err := openNoFollow(gfd, RootFS, unix.O_RDONLY|unix.O_DIRECTORY, p)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if idOf(&st) != b.root {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w: replaced since the bundle was opened", p, ErrUnsafe)
	}
	return os.NewFile(uintptr(fd), p), nil
}

// Policy returns the run policy carried by the image config, or a zero Policy
// when the image has none.
func (b *Bundle) Policy() (policy.Policy, error) {
	return policy.FromConfig(&b.Meta.Config)
}
