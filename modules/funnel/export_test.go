package funnel

// LessPos orders two positions as the board does, for tests.
func LessPos(a, b string) bool { return rat(a).Cmp(rat(b)) < 0 }
