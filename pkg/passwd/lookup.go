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

	u := User{Home: "/"}
	if isNumber(userPart) {
		id, err := parseID(userPart)
		if err != nil {
			return User{}, fmt.Errorf("user %q: %w", userPart, err)
		}
		u.UID, u.GID = id, id
		for _, e := range entries {
			if e.UID == u.UID {
				u.Name, u.GID, u.Home = e.Name, e.GID, e.Home
				break
			}
		}
	} else {
		if perr != nil {
			return User{}, fmt.Errorf("user %q: %w", userPart, perr)
		}
		i := slices.IndexFunc(entries, func(e Entry) bool { return e.Name == userPart })
		if i < 0 {
			return User{}, fmt.Errorf("user %q: not in the jail's /etc/passwd", userPart)
		}
		e := entries[i]
		u.Name, u.UID, u.GID, u.Home = e.Name, e.UID, e.GID, e.Home
	}
	if u.Home == "" {
		u.Home = "/"
	}

	if hasGroup {
		if isNumber(groupPart) {
			id, err := parseID(groupPart)
			if err != nil {
				return User{}, fmt.Errorf("group %q: %w", groupPart, err)
			}
			u.GID = id
		} else {
			i := slices.IndexFunc(groups, func(g Group) bool { return g.Name == groupPart })
			if i < 0 {
				return User{}, fmt.Errorf("group %q: not in the jail's /etc/group", groupPart)
			}
			u.GID = groups[i].GID
		}
	}
	if u.Name != "" {
		for _, g := range groups {
			if g.GID != u.GID && slices.Contains(g.Members, u.Name) && !slices.Contains(u.Groups, g.GID) {
				u.Groups = append(u.Groups, g.GID)
			}
		}
	}
	slices.Sort(u.Groups)
	return u, nil
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

func readGroup(open Opener) ([]Group, error) {
	b, err := ReadFile(open, "/etc/group")
	if err != nil {
		return nil, err
	}
	g, err := ParseGroup(b)
	if err != nil {
		return nil, fmt.Errorf("/etc/group: %w", err)
	}
	return g, nil
}

// isNumber reports whether s is all decimal digits: a numeric id, never a name.
func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
