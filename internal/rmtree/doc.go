// Package rmtree removes directory trees that jailimg created: old
// generations, staging leftovers, entries a layer replaces, old layouts.
//
// RemoveAt guarantees that:
//
//   - the walk goes by directory descriptor from the parent it is given,
//     never by path, and never follows a symlink: a symlink is removed, not
//     what it points to;
//   - nothing on another mount is removed or even listed: before removing
//     anything it walks the tree once, and when any entry (the tree itself
//     included) is a mount point — another file system, or a bind mount of a
//     directory or file of the same file system, which st_dev cannot tell
//     apart — it removes nothing and returns a *MountError naming every mount
//     point it found. Mount points are compared by the mount ids of statx
//     (STATX_MNT_ID, Linux 5.8); on an older kernel each entry is looked up
//     with openat2(RESOLVE_NO_XDEV), which the kernel refuses at a mount
//     point;
//   - the removal walk checks every directory again before descending into
//     it, so a mount made between the two walks stops the removal there
//     (with a *MountError) instead of being crossed;
//   - a caller other than root empties a directory it owns but may not
//     write, list or search (a jail's read-only directory): the directory
//     is made rwx for its owner first, through a descriptor opened without
//     following a symlink. Nothing else's mode or owner is changed.
//
// Mounts in another mount namespace are not visible to the walk and need
// not be: the walk then sees, and removes, the directory under the mount,
// never the mounted files.
package rmtree
