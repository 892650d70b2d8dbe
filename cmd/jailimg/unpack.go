package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/unpack"
)

// unpackFlags are the policy flags shared by `jailimg unpack` and `verify`.
type unpackFlags struct {
	devices    []string
	maxBytes   string
	maxEntries int64
	maxRatio   int64
	json       bool
	device     string      // unpack only
	readOnly   bool        // unpack only
	strict     bool        // unpack only
	verify     verifyFlags // unpack only
	registry   registryFlags
}

func (f *unpackFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.devices, "allow-device", nil, "also allow device node [c|b:]MAJOR:MINOR (default: null, zero, full, random, urandom, tty)")
	fl.StringVar(&f.maxBytes, "max-bytes", "4G", "limit on uncompressed bytes of all layers (suffix K, M, G, T)")
	fl.Int64Var(&f.maxEntries, "max-entries", unpack.DefaultLimits.MaxEntries, "limit on tar entries of all layers")
	fl.Int64Var(&f.maxRatio, "max-ratio", unpack.DefaultLimits.MaxRatio, "limit on a layer's uncompressed/compressed size ratio")
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	f.registry.AddRegistryFlags(fl)
}

// options turns the flags into unpack options.
func (f *unpackFlags) options(source string) ([]unpack.Option, error) {
	maxBytes, err := parseSize(f.maxBytes)
	if err != nil {
		return nil, usageError{fmt.Errorf("--max-bytes: %w", err)}
	}
	if f.maxEntries <= 0 || f.maxRatio <= 0 {
		return nil, usageError{fmt.Errorf("--max-entries and --max-ratio must be positive")}
	}
	opts := []unpack.Option{unpack.WithSource(source), unpack.WithLogger(logger()),
		unpack.WithLimits(unpack.Limits{MaxBytes: maxBytes, MaxEntries: f.maxEntries, MaxRatio: f.maxRatio})}
	for _, s := range f.devices {
		d, err := unpack.ParseDevice(s)
		if err != nil {
			return nil, usageError{fmt.Errorf("--allow-device: %w", err)}
		}
		opts = append(opts, unpack.WithAllowDevices(d))
	}
	return opts, nil
}

// parseSize reads a byte count with an optional K, M, G or T (powers of 1024) suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "T"):
		mult, s = 1<<40, strings.TrimSuffix(s, "T")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	return n * mult, nil
}

func newCmdUnpack() *cobra.Command {
	f := &unpackFlags{}
	cmd := &cobra.Command{
		Use:   "unpack [flags] SOURCE TARGET",
		Short: "Unpack an image into a bundle directory, safely and atomically",
		Long: `Unpack the image SOURCE names into the bundle directory TARGET: a new
generation TARGET/gen-* is written beside the live one, made durable and
switched to by renaming TARGET/current, so a crash leaves either the old tree
or the new one live. Unpacking the image that is already live does nothing,
so an rc script can run this at every boot.

Every layer is treated as hostile: paths leaving TARGET, setuid/setgid
bits, file capabilities, FIFOs, devices outside the safe table, digest
mismatches and oversized or over-compressed layers are refused (exit 3) and
the live tree is kept. A symlink in a parent directory (lib -> usr/lib) is
followed inside the image's root, as docker does, never out of it. Foreign
images are held to the jail's rule that nothing is world-writable: o+w is
masked off files and off directories without the sticky bit (a 1777 /tmp is
kept), with one warning giving the count and the first path; with --strict
such an image is refused instead (exit 3), naming the layer and entry.

The old generation is removed once the new one is live, without following
a symlink or crossing a mount point: a generation with a host directory
still mounted in it (e.g. bind-mounted logs) is left whole, with a warning
naming the mount points (exit 0: the new generation is live), and the first
unpack after they are unmounted removes it.

Before the first byte is written, the free space of TARGET's file system is
compared with what the image needs at least (its layers' compressed size),
and again every 16 MiB written: too little space fails at once (exit 1)
naming the mount point and the bytes free and needed, as does a write that
finds the disk full. The new generation is written beside the live one, so
the file system needs room for both (see docs/boot.md). A failure of the
host (disk, device, permissions) exits 1, never 3.

When SOURCE cannot be read (e.g. the registry is unreachable at boot) and
TARGET already holds a live tree, that tree is kept and the error reported
(exit 4 for a registry error, 1 otherwise).

With --verify-key PUB[,PUB...], the image must carry a signature by one of
the keys over its manifest digest (cosign's scheme: the sha256-HEX.sig image
in its repository, or beside it in a layout; see docs/signing.md). It is
checked after the manifest is read and before anything else of the image:
an image unsigned, signed by other keys only, whose signature is over
another digest (re-tagged) or altered is refused before a byte of its
layers is fetched (exit 3, naming SOURCE, the digest and why), and the live
tree is kept.

SOURCE is an OCI image layout directory (DIR, DIR:TAG, or oci:DIR[:TAG]) or
a registry reference. The manifest digest is printed on stdout.

With --device DEV, the ext4 or xfs filesystem on DEV is mounted on TARGET
(created if missing; reused if DEV is already mounted there, refused if it
is mounted anywhere else), and with --read-only TARGET must already be a
mount point. Either way TARGET is writable only while a new tree is written
and is left mounted read-only and nosuid, with nodev unless the live image
has a device node other than the safe ones in /dev (jailimg run binds the
host's over those), whether the unpack succeeds or fails, and also when
SOURCE cannot be read. Both need root.

Progress (compressed bytes read of the total) is shown on stderr: on a
terminal a bar per layer with its bytes, rate and time left, and one for
the whole image; else a log line at every tenth. -q silences it. See
docs/boot.md for use at boot.`,
		Example: `  jailimg unpack out/nginx /srv/jails/nginx
  jailimg unpack --device /dev/vdb registry.local/nginx:1 /srv/jails/nginx
  jailimg unpack --allow-device c:10:200 registry.local/tun:1 /srv/jails/tun
  jailimg unpack --verify-key /etc/jailimg/keys/release.pub registry.local/nginx:1 /srv/jails/nginx`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runUnpack(cmd.Context(), f, a[0], a[1], cmd.OutOrStdout())
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&f.device, "device", "", "mount block device DEV (ext4 or xfs) on TARGET, unpack, and leave it ro,nosuid (implies --read-only)")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "refuse an image with world-writable files or non-sticky world-writable directories (exit 3) instead of masking o+w off")
	f.verify.AddVerifyFlags(cmd.Flags(), "verify-key", "refuse an image not signed by one of these public `KEY` files (PEM, comma-separated or repeated)")
	cmd.Flags().BoolVar(&f.readOnly, "read-only", false, "TARGET is a mount point: remount it read-write for the unpack only, then ro,nosuid,nodev (no nodev for an image with devices beyond the safe ones in /dev)")
	return cmd
}

// unpackOutput is what `jailimg unpack --json` prints.
type unpackOutput struct {
	Digest  string `json:"digest"`
	Changed bool   `json:"changed"`
	Gen     string `json:"gen"`
	Bytes   int64  `json:"bytes"`
	Entries int64  `json:"entries"`
	Mount   string `json:"mount,omitempty"`
}

// setGC sets the garbage collector's target for unpacking img. Most of
// unpack's heap is what it knows of the tree, a few hundred bytes a file,
// and at the default target (100) the heap grows to twice that before a
// collection. On an image of over largeImage compressed bytes it runs at 50:
// the peak resident memory of unpacking a 49,600-file image is 56 MiB
// instead of 63 (zstd; 45 instead of 51 with gzip), for about 8% more CPU on
// the core that is not decompressing and the same time. A small image keeps
// the default: it is done before its heap matters, and collecting more
// often costs it time (1.22 → 1.34× of decompressing alone, nginx).
func setGC(img v1.Image) {
	m, err := img.Manifest()
	if err != nil {
		return
	}
	var size int64
	for _, l := range m.Layers {
		size += l.Size
	}
	if size > largeImage {
		debug.SetGCPercent(50)
	}
}

const largeImage = 64 << 20

func runUnpack(ctx context.Context, f *unpackFlags, source, target string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opts, err := f.options(source)
	if err != nil {
		return err
	}
	if f.strict {
		opts = append(opts, unpack.WithStrict())
	}
	if f.device != "" {
		opts = append(opts, unpack.WithDevice(f.device))
	} else if f.readOnly {
		opts = append(opts, unpack.WithReadOnly())
	}
	keys, err := f.verify.load()
	if err != nil {
		return err
	}
	img, err := openVerified(ctx, &f.registry, keys, source, os.Stdin)
	if err == nil {
		setGC(img)
		var res *unpack.Result
		popts, wait := progressOption()
		res, err = unpack.Unpack(ctx, img, target, append(opts, popts...)...)
		wait()
		if err == nil {
			if f.json {
				return json.NewEncoder(w).Encode(unpackOutput{res.Digest.String(), res.Changed, res.Gen, res.Bytes, res.Entries, res.Mount})
			}
			_, err = fmt.Fprintln(w, res.Digest)
			return err
		}
	} else if f.device != "" || f.readOnly {
		// The live tree stays usable: mounted, and read-only.
		if mopts, merr := unpack.MountReadOnly(target, opts...); merr != nil {
			logger().Error("mounting the live tree read-only", "target", target, "err", merr)
		} else {
			logger().Info("live tree mounted", "target", target, "options", mopts)
		}
	}
	if unpack.IsBadImage(err) {
		err = inputError{err}
	}
	if live, lerr := bundle.Open(target); lerr == nil {
		logger().Warn("keeping the live tree", "target", target, "gen", live.Gen, "digest", live.Meta.ManifestDigest)
	}
	return err
}

// progressOption returns the option that shows unpack progress on stderr:
// bars on a terminal (see bars), else a log line at every tenth of the
// total; none with -q. The function returned waits for the last drawing or
// line once Unpack has returned.
func progressOption() ([]unpack.Option, func()) {
	if global.quiet {
		return nil, func() {}
	}
	if isTerminal(os.Stderr) {
		b := newBars(os.Stderr, "unpacking")
		return []unpack.Option{unpack.WithProgressFunc(b.update)}, b.finish
	}
	ch := make(chan v1.Update)
	done := make(chan struct{})
	log := logger()
	go func() {
		defer close(done)
		step := int64(-1)
		for u := range ch {
			if u.Error != nil || u.Total <= 0 {
				continue
			}
			if s := u.Complete * 10 / u.Total; s > step {
				step = s
				log.Info("unpacking", "done", u.Complete, "total", u.Total, "percent", u.Complete*100/u.Total)
			}
		}
	}()
	return []unpack.Option{unpack.WithProgress(ch)}, func() { <-done }
}
