package node

// dialer dials the running campaigns (filled in by the next step).
type dialer struct{}

// lines is the calls of the campaign dialling or connected now.
func (d *dialer) lines(string) int { return 0 }

// poke has the dialer look at the campaigns again at once.
func (d *dialer) poke() {}
