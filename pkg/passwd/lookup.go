package passwd

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// User is who a service runs as: the result of Lookup.
type User struct {
	Name   string // empty when the user is numeric and not in /etc/passwd
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups, sorted, without GID
	Home   string   // "/" when unknown
}

// Lookup resolves spec, in the OCI config's "user[:group]" form where each
// part is a name or a decimal id, against the jail's /etc/passwd and
// /etc/group opened through open.
//
// A name must exist in the jail. A numeric uid not in /etc/passwd runs with
// gid equal to the uid unless a group is given, and no supplementary groups.
// Supplementary groups are those in /etc/group that list the user's name.
// A missing /etc/group means no supplementary groups; a missing /etc/passwd
// is only an error when a name must be resolved.
func Lookup(open Opener, spec string) (User, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" || (hasGroup && groupPart == "") {
		return User{}, fmt.Errorf("user %q: want NAME|UID[:GROUP|GID]", spec)
	}
	entries, perr := readPasswd(open)
	groups, gerr := readGroup(open)
	if gerr != nil && !errors.Is(gerr, fs.ErrNotExist) {
		return User{}, gerr
	}
	u, err := lookupUser(userPart, entries, perr)
	if err != nil {
		return User{}, err
	}
	if hasGroup {
		if u.GID, err = lookupGroup(groupPart, groups); err != nil {
			return User{}, err
		}
	}
	u.Groups = supplementary(u, groups)
	return u, nil
}

// lookupUser resolves the user part of a spec against entries, the jail's
// /etc/passwd as readPasswd returned it (perr its error): a name must be
// there, a numeric uid need not.
func lookupUser(name string, entries []Entry, perr error) (User, error) {
	if isNumber(name) {
		return userByID(name, entries)
	}
	if perr != nil {
		return User{}, fmt.Errorf("user %q: %w", name, perr)
	}
	i := slices.IndexFunc(entries, func(e Entry) bool { return e.Name == name })
	if i < 0 {
		return User{}, fmt.Errorf("user %q: not in the jail's /etc/passwd", name)
	}
	return fromEntry(entries[i]), nil
}

// userByID resolves a numeric uid: the first entry with that uid, else a
// nameless user whose gid is the uid.
func userByID(uid string, entries []Entry) (User, error) {
	id, err := parseID(uid)
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", uid, err)
	}
	i := slices.IndexFunc(entries, func(e Entry) bool { return e.UID == id })
	if i < 0 {
		return User{UID: id, GID: id, Home: "/"}, nil
	}
	return fromEntry(entries[i]), nil
}

// fromEntry is the user of a passwd entry, with home "/" when it has none.
func fromEntry(e Entry) User {
	u := User{Name: e.Name, UID: e.UID, GID: e.GID, Home: e.Home}
	if u.Home == "" {
		u.Home = "/"
	}
	return u
}

// lookupGroup resolves the group part of a spec: a name in groups, the
// jail's /etc/group, or a numeric gid that need not be there.
func lookupGroup(name string, groups []group) (uint32, error) {
	if isNumber(name) {
		id, err := parseID(name)
		if err != nil {
			return 0, fmt.Errorf("group %q: %w", name, err)
		}
		return id, nil
	}
	i := slices.IndexFunc(groups, func(g group) bool { return g.Name == name })
	if i < 0 {
		return 0, fmt.Errorf("group %q: not in the jail's /etc/group", name)
	}
	return groups[i].GID, nil
}

// supplementary returns, sorted, the gids of the groups that list u by
// name, but u's own GID; none for a user without a name.
func supplementary(u User, groups []group) []uint32 {
	var out []uint32
	if u.Name == "" {
		return nil
	}
	for _, g := range groups {
		if g.GID != u.GID && slices.Contains(g.Members, u.Name) && !slices.Contains(out, g.GID) {
			out = append(out, g.GID)
		}
	}
	slices.Sort(out)
	return out
}

func readPasswd(open Opener) ([]Entry, error) {
	b, err := ReadFile(open, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	e, err := ParsePasswd(b)
	if err != nil {
		return nil, fmt.Errorf("/etc/passwd: %w", err)
	}
	return e, nil
}

func readGroup(open Opener) ([]group, error) {
	b, err := ReadFile(open, "/etc/group")
	if err != nil {
		return nil, err
	}
	g, err := parseGroup(b)
	if err != nil {
		return nil, fmt.Errorf("/etc/group: %w", err)
	}
	return g, nil
}

// isNumber reports whether s is all decimal digits: a numeric id, never a name.
func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
