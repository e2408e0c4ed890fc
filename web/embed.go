// Package web holds the browser pages served by the binary: the agent
// desktop and the supervisor's wallboard. Plain HTML, CSS and JavaScript
// with no build step, embedded with go:embed.
package web

import "embed"

// FS holds the pages and their assets.
//
//go:embed *.html *.css *.js
var FS embed.FS
