// Package chat is the customer-facing server: HTTP endpoints, the WebSocket protocol, sessions, the
// dialogue and the human handoff. It knows the classifier, the knowledge base and the recommender only
// through the small interfaces it declares.
package chat
