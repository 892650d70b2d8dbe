// Package syslog relays a jail's /dev/log to the host's syslog, as
// jailkit's jk_socketd does: Listen binds a datagram socket of its own
// (mode 0666, in a fresh directory only root can enter, which package run
// binds over the jail's /dev/log placeholder and then removes), and Serve
// forwards what arrives.
//
// What it guarantees:
//
//   - Every message is re-tagged: the host sees "<PRI>TIMESTAMP
//     jailimg/NAME: " (RFC 3164, the host's time) followed by what the
//     service sent, with the service's own PRI kept (but the kernel
//     facility, which only the kernel may use, becomes user) and its own
//     leading timestamp and hostname, when present, dropped. The tag is
//     jailimg's: a service cannot pass itself off as another program or
//     jail; what it wrote after the tag is its own text, control
//     characters turned into spaces, at most 2048 bytes.
//   - The jail cannot flood the host: a token bucket (WithRate: messages
//     per second, bursts of five seconds' worth) decides what is
//     forwarded; the excess is read and dropped, and a line "N messages
//     dropped" follows once forwarding resumes or a second has passed.
//   - The jail cannot block the host's syslog, nor jailimg: messages are
//     sent with MSG_DONTWAIT and dropped (counted) when the host's socket
//     is full; the jail's socket is drained as fast as it fills, in one
//     fixed buffer, so memory does not grow with what the jail sends.
//   - A host without a syslog socket gets the messages on the relay's
//     fallback writer (jailimg's stderr), after one warning.
//
// What it does not do: it keeps no queue (a message the host cannot take
// right away is lost), speaks no stream protocol (the host's socket must be
// a datagram one, as /dev/log is for every syslog daemon and journald), and
// does not authenticate the sender beyond being the jail's socket.
package syslog
