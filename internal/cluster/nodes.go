package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// PathNode is where a node's own endpoints for the other nodes are
// (ClientConfig.Serve): the browser softphones and the live calls it
// holds, which the ACD does not know of.
const PathNode = PathPrefix + "node/"

// newLongClient is the HTTP client of requests whose answer lasts as long
// as a call (a softphone ringing, then on the call): no overall timeout,
// but the connection and the answer's headers within rpcTimeout.
func newLongClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: rpcTimeout}).DialContext,
		ResponseHeaderTimeout: rpcTimeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       time.Minute,
	}}
}

// Request sends a request with the cluster's key to the node at addr
// (host:port), with in as its JSON body (nil: none), and returns the
// answer if it is 200; ctx bounds the whole exchange (the body too), so
// an answer may stream for as long as ctx lasts. The caller closes the
// body.
func (c *Client) Request(ctx context.Context, method, addr, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, body)
	if err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", path, err)
	}
	c.Authorize(req)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.long.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cluster: %s to %s: %w", path, addr, err)
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		res.Body.Close()
		return nil, fmt.Errorf("cluster: %s to %s: %s: %s", path, addr, res.Status, strings.TrimSpace(string(b)))
	}
	return res, nil
}

// Authorize adds the cluster's key to a request to another node.
func (c *Client) Authorize(req *http.Request) { req.Header.Set("Authorization", "Bearer "+c.peer.key) }

// Authorized reports whether a request carries the cluster's key.
func (c *Client) Authorized(r *http.Request) bool { return c.peer.authorized(r) }
