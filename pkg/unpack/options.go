package unpack

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Limits bound what a single unpack may read. A zero field means the default.
type Limits struct {
	// MaxBytes bounds the total uncompressed size of all layers (tar
	// headers included). Default 4 GiB.
	MaxBytes int64
	// MaxEntries bounds the total number of tar entries. Default 1,000,000.
	MaxEntries int64
	// MaxRatio bounds uncompressed/compressed bytes of a layer, checked
	// once a layer has produced more than 1 MiB. Default 200.
	MaxRatio int64
}

// DefaultLimits are the limits used when WithLimits is not given.
var DefaultLimits = Limits{MaxBytes: 4 << 30, MaxEntries: 1_000_000, MaxRatio: 200}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultLimits.MaxRatio
	}
	return l
}

// Device names a device node by type and numbers.
type Device struct {
	// Block is true for a block device, false for a character device.
	Block bool
	// Major and Minor are the device numbers.
	Major, Minor uint32
}

// String returns the device as "c:MAJOR:MINOR" or "b:MAJOR:MINOR".
func (d Device) String() string {
	t := "c"
	if d.Block {
		t = "b"
	}
	return fmt.Sprintf("%s:%d:%d", t, d.Major, d.Minor)
}

// ParseDevice parses "c:MAJOR:MINOR", "b:MAJOR:MINOR" or "MAJOR:MINOR" (a
// character device).
func ParseDevice(s string) (Device, error) {
	parts := strings.Split(s, ":")
	var d Device
	switch {
	case len(parts) == 3 && (parts[0] == "c" || parts[0] == "b"):
		d.Block = parts[0] == "b"
		parts = parts[1:]
	case len(parts) == 2:
	default:
		return d, fmt.Errorf("device %q: want [c|b:]MAJOR:MINOR", s)
	}
	maj, err := strconv.ParseUint(parts[0], 10, 32)
	if err != nil {
		return d, fmt.Errorf("device %q: major: %w", s, err)
	}
	minor, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return d, fmt.Errorf("device %q: minor: %w", s, err)
	}
	d.Major, d.Minor = uint32(maj), uint32(minor)
	return d, nil
}

// SafeDevices are the character devices always allowed: null, zero, full,
// random, urandom and tty.
var SafeDevices = []Device{{Major: 1, Minor: 3}, {Major: 1, Minor: 5}, {Major: 1, Minor: 7},
	{Major: 1, Minor: 8}, {Major: 1, Minor: 9}, {Major: 5, Minor: 0}}

// Option configures Unpack and Verify.
type Option func(*options)

type options struct {
	source  string
	limits  Limits
	devices map[Device]bool
	logger  *slog.Logger
	strict  bool // WithStrict

	progress *progress // WithProgress
	device   string    // WithDevice
	readOnly bool      // WithReadOnly or WithDevice
}

func makeOptions(opts []Option) *options {
	o := &options{limits: DefaultLimits, devices: map[Device]bool{}}
	for _, d := range SafeDevices {
		o.devices[d] = true
	}
	for _, opt := range opts {
		opt(o)
	}
	o.limits = o.limits.withDefaults()
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// WithSource records where the image came from in bundle.Meta.Source.
// Default "".
func WithSource(s string) Option { return func(o *options) { o.source = s } }

// WithLimits sets the resource limits; zero fields keep their default.
// Default DefaultLimits.
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l } }

// WithAllowDevices allows device nodes beyond SafeDevices. Default none.
func WithAllowDevices(devs ...Device) Option {
	return func(o *options) {
		for _, d := range devs {
			o.devices[d] = true
		}
	}
}

// WithLogger sets the logger for progress and cleanup messages. Default:
// silent.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithStrict makes Unpack and Verify refuse an image with a world-writable
// file, or a world-writable directory without the sticky bit, with an
// *EntryError wrapping ErrPolicy naming the layer and entry. Default: o+w
// is masked off such entries (sticky directories such as a 1777 /tmp keep
// their mode), and Unpack logs one warning with the count and the first
// path.
func WithStrict() Option { return func(o *options) { o.strict = true } }
