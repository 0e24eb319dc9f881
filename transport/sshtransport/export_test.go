package sshtransport

// SetCatNames makes the reused sessions started from now on start new
// cats every n commands, until the returned function restores the default.
func SetCatNames(n int) (restore func()) {
	old := catNames
	catNames = n
	return func() { catNames = old }
}
