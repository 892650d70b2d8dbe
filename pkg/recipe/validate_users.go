package recipe

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// users checks the users' names, uids and fields, and fills in a default
// home and shell.
func (v *validator) users() {
	r := v.r
	seen := map[string]bool{}
	uids := map[uint32]string{}
	for i := range r.Users {
		u := &r.Users[i]
		key := fmt.Sprintf("users[%d]", i)
		if !userRE().MatchString(u.Name) {
			v.errorf(key+".name", "%q is not a valid user name", u.Name)
		} else if seen[u.Name] {
			v.errorf(key+".name", "user %q is listed twice", u.Name)
		}
		seen[u.Name] = true
		switch {
		case u.UID == nil:
			v.errorf(key, "uid is required")
		case *u.UID == noID:
			v.errorf(key+".uid", "%v", errNoID)
		case uids[*u.UID] != "":
			v.errorf(key+".uid", "%d is also the uid of %q", *u.UID, uids[*u.UID])
		default:
			uids[*u.UID] = u.Name
		}
		if u.GID == nil {
			v.errorf(key, "gid is required")
		} else if *u.GID == noID {
			v.errorf(key+".gid", "%v", errNoID)
		}
		for _, f := range []struct{ key, val string }{{"gecos", u.Gecos}, {"home", u.Home}, {"shell", u.Shell}} {
			if strings.ContainsAny(f.val, ":\n") {
				v.errorf(key+"."+f.key, "must not contain ':' or a newline")
			}
		}
		if u.Home == "" {
			u.Home = "/nonexistent"
		}
		if u.Shell == "" {
			u.Shell = "/usr/sbin/nologin"
		}
	}
}

// groups checks the groups' names and gids, and that members are users.
func (v *validator) groups() {
	r := v.r
	seen := map[string]bool{}
	for i, g := range r.Groups {
		key := fmt.Sprintf("groups[%d]", i)
		if g.GID == nil {
			v.errorf(key, "gid is required")
		} else if *g.GID == noID {
			v.errorf(key+".gid", "%v", errNoID)
		}
		if !userRE().MatchString(g.Name) {
			v.errorf(key+".name", "%q is not a valid group name", g.Name)
		} else if seen[g.Name] {
			v.errorf(key+".name", "group %q is listed twice", g.Name)
		}
		seen[g.Name] = true
		for j, m := range g.Members {
			if !slices.ContainsFunc(r.Users, func(u User) bool { return u.Name == m }) {
				v.errorf(fmt.Sprintf("%s.members[%d]", key, j), "%q is not one of the recipe's users", m)
			}
		}
	}
}

// owners checks that named owners and groups are among the recipe's users and groups.
func (v *validator) owners(key string, owner, group *Owner) {
	if owner != nil && owner.Name != "" {
		if _, ok := v.r.UID(*owner); !ok {
			v.errorf(key+".owner", "%q is not one of the recipe's users", owner.Name)
		}
	}
	if group != nil && group.Name != "" {
		if _, ok := v.r.GID(*group); !ok {
			v.errorf(key+".group", "%q is not one of the recipe's groups", group.Name)
		}
	}
}

func (v *validator) config() {
	r := v.r
	if r.User != "" {
		if _, err := strconv.ParseUint(r.User, 10, 32); err != nil {
			if _, ok := r.UID(Owner{Name: r.User}); !ok {
				v.errorf("user", "%q is neither a uid nor one of the recipe's users", r.User)
			}
		}
	}
	if r.Workdir != "" {
		v.absPath("workdir", r.Workdir)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Env)) {
		if !envKeyRE().MatchString(k) {
			v.errorf("env."+k, "%q is not a valid variable name", k)
		}
	}
	for k := range r.Annotations {
		if k == "" {
			v.errorf("annotations", "empty annotation key")
		}
	}
}

// UID returns the numeric id of an owner, looking names up in the recipe's users.
func (r *Recipe) UID(o Owner) (uint32, bool) {
	if o.Name == "" {
		return o.ID, true
	}
	for _, u := range r.Users {
		if u.Name == o.Name && u.UID != nil {
			return *u.UID, true
		}
	}
	return 0, false
}

// GID returns the numeric id of a group owner, looking names up in the
// recipe's groups.
func (r *Recipe) GID(o Owner) (uint32, bool) {
	if o.Name == "" {
		return o.ID, true
	}
	for _, g := range r.Groups {
		if g.Name == o.Name && g.GID != nil {
			return *g.GID, true
		}
	}
	return 0, false
}
