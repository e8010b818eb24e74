// Package console embeds the support-agent console (plain HTML, CSS and JavaScript, no framework),
// served by package chat/handoff at /console/.
package console

import "embed"

// FS holds index.html, console.css and console.js. It is read-only and safe for concurrent use.
//
//go:embed index.html console.css console.js
var FS embed.FS
