// Package pty gives a jailed service a terminal of its own, never the
// operator's: a new pseudo-terminal pair whose slave the service gets as
// stdin, stdout, stderr and controlling terminal, and a relay between the
// operator's terminal and the master, as sudo's use_pty does.
//
// What it guarantees:
//
//   - The service holds no descriptor of the operator's terminal, only the
//     slave of a pty allocated for it. What it pushes into its terminal's
//     input (TIOCSTI) is read back by the service itself, never by the
//     operator's shell.
//   - The master is opened from /dev/ptmx with O_NOCTTY and close-on-exec,
//     so jailimg never acquires it as a controlling terminal and no other
//     child inherits it; the slave is opened from the master (TIOCGPTPEER),
//     not by a path under /dev/pts that could be swapped.
//   - The pty starts with the operator's window size and follows it on every
//     SIGWINCH while the relay runs.
//   - The operator's terminal is in raw mode only between Start and Close,
//     and Close restores the mode it had, whatever the service did: ^C, ^Z
//     and ^\ reach the service as bytes, and its own line discipline turns
//     them into signals for it.
//   - Close copies what the service wrote before it ended, up to the point
//     where every copy of the slave is closed (or, when a process the
//     service left behind still holds one, for a short grace period), and
//     does not leave a reader of the operator's terminal behind.
//
// What it does not do: it does not filter what the service writes (escape
// sequences reach the operator's terminal as written), does not log the
// session, and does not handle jailimg's own job control (jailimg in a
// background process group stops on SIGTTOU when it sets raw mode).
package pty
