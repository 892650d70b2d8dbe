package run

import (
	"slices"

	"golang.org/x/sys/unix"
)

// rlimitNames maps the Policy.Rlimits names to setrlimit(2) resources, as
// ulimit(1) -t -n -u -f -v -c -d -s -l set them.
var rlimitNames = map[string]int{
	"cpu":     unix.RLIMIT_CPU,
	"nofile":  unix.RLIMIT_NOFILE,
	"nproc":   unix.RLIMIT_NPROC,
	"fsize":   unix.RLIMIT_FSIZE,
	"as":      unix.RLIMIT_AS,
	"core":    unix.RLIMIT_CORE,
	"data":    unix.RLIMIT_DATA,
	"stack":   unix.RLIMIT_STACK,
	"memlock": unix.RLIMIT_MEMLOCK,
}

// defaultNproc is the most tasks (processes and threads) the jail's uid may
// have unless the policy or an option sets nproc.
const defaultNproc = 4096

// defaultRlimits returns the limits a service gets unless the policy or an
// option sets them, soft and hard:
//
//   - core 0: the hard limit a service inherits from a root shell is
//     usually unlimited, and a dump would copy the service's memory,
//     secrets included, into whatever it can write, or hand it to the
//     host's core_pattern helper;
//   - nproc defaultNproc, or the inherited soft limit when lower: root's
//     is usually about half the host's task table, so a fork bomb in the
//     jail would fill it. The kernel counts the tasks of the jail's uid
//     across the host, a host user's or another jail's of the same uid
//     included, and does not enforce the limit on uid 0.
func defaultRlimits() map[string]uint64 {
	nproc := uint64(defaultNproc)
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NPROC, &lim) == nil && lim.Cur < nproc {
		nproc = lim.Cur
	}
	return map[string]uint64{"core": 0, "nproc": nproc}
}

func rlimitList() []string {
	var names []string
	for k := range rlimitNames {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
