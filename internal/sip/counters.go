package sip

import "sync"

// Counters count SIP traffic by method and status code.
type Counters struct {
	mu        sync.Mutex
	Requests  map[string]uint64
	Responses map[int]uint64
}

func newCounters() *Counters {
	return &Counters{Requests: map[string]uint64{}, Responses: map[int]uint64{}}
}

func (c *Counters) request(m string) {
	c.mu.Lock()
	c.Requests[m]++
	c.mu.Unlock()
}

func (c *Counters) response(code int) {
	c.mu.Lock()
	c.Responses[code]++
	c.mu.Unlock()
}

// Snapshot copies the counters.
func (c *Counters) Snapshot() (map[string]uint64, map[int]uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := make(map[string]uint64, len(c.Requests))
	for k, v := range c.Requests {
		req[k] = v
	}
	res := make(map[int]uint64, len(c.Responses))
	for k, v := range c.Responses {
		res[k] = v
	}
	return req, res
}
