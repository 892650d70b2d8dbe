package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/jailimg/jailimg/pkg/tree"
)

// etc writes the jail's account and name-service files from the recipe alone:
// nothing of the host's /etc/passwd, /etc/group or /etc/shadow gets in.
func (b *builder) etc(context.Context) error {
	r := b.r
	var files []tree.Entry
	if len(r.Users) > 0 || len(r.Groups) > 0 {
		var passwd, shadow, group strings.Builder
		for _, u := range r.Users {
			fmt.Fprintf(&passwd, "%s:x:%d:%d:%s:%s:%s\n", u.Name, *u.UID, *u.GID, u.Gecos, u.Home, u.Shell)
			fmt.Fprintf(&shadow, "%s:!:::::::\n", u.Name) // locked: no password can match
		}
		for _, g := range r.Groups {
			fmt.Fprintf(&group, "%s:x:%d:%s\n", g.Name, *g.GID, strings.Join(g.Members, ","))
		}
		files = append(files,
			generated("/etc/passwd", 0o444, passwd.String(), "users"),
			generated("/etc/group", 0o444, group.String(), "groups"),
			generated("/etc/shadow", 0o400, shadow.String(), "users"))
	}
	if len(r.NSS) > 0 {
		files = append(files, generated("/etc/nsswitch.conf", 0o444, nsswitch(r.NSS), "nss"))
	}
	if r.Timezone != "" {
		e, err := b.hostEntry(b.host, "usr/share/zoneinfo/"+r.Timezone, "/etc/localtime", b.r.Path+": timezone")
		if err != nil {
			return err
		}
		e.Mode = 0o444
		files = append(files, e, generated("/etc/timezone", 0o444, r.Timezone+"\n", "timezone"))
	}
	for _, e := range files {
		e.Source = b.r.Path + ": " + e.Source
		if err := b.t.Add(e); err != nil {
			return err
		}
	}
	return nil
}

// nsswitch lists the recipe's sources for host lookups and the non-network
// ones (dns makes no sense for passwd) for the account databases.
func nsswitch(sources []string) string {
	local := slices.DeleteFunc(slices.Clone(sources), func(s string) bool { return s == "dns" })
	if len(local) == 0 {
		local = []string{"files"}
	}
	var b strings.Builder
	for _, db := range []string{"passwd", "group", "shadow"} {
		fmt.Fprintf(&b, "%s: %s\n", db, strings.Join(local, " "))
	}
	fmt.Fprintf(&b, "hosts: %s\n", strings.Join(sources, " "))
	for _, db := range []string{"networks", "protocols", "services"} {
		fmt.Fprintf(&b, "%s: %s\n", db, strings.Join(local, " "))
	}
	return b.String()
}

// generated is a file whose contents the build writes.
func generated(p string, mode fs.FileMode, content, source string) tree.Entry {
	data := []byte(content)
	return tree.Entry{
		Path: p, Type: tree.Reg, Mode: mode, Size: int64(len(data)), Source: source,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}
}
