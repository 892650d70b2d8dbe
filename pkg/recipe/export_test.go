package recipe

// SafeDevices is the safe device table, for the schema test to compare.
var SafeDevices = safeDevices

// MaxSize is the largest recipe file Load reads.
const MaxSize = maxSize
