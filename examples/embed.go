// Package examples embeds the ready setups and the demo's sounds, so the
// binary runs its demo with no files beside it.
package examples

import "embed"

// FS holds demo.yaml, load.yaml and sounds/*.wav.
//
//go:embed demo.yaml load.yaml sounds/*.wav
var FS embed.FS
