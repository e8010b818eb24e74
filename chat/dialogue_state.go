package chat

import (
	"encoding/json"
	"fmt"
)

// Slot names in the dialogue state.
const (
	slotOrder    = "order_number"
	slotEmail    = "email"
	slotPostcode = "postcode"
	slotProduct  = "product" // a SKU
	slotVerified = "verified_order"
)

// What a form is waiting for.
const (
	askOrder   = "order_number"
	askVerify  = "verification" // the email or postcode of the order
	askProduct = "product"
)

const (
	pendingClarify    = "clarify"
	pendingOfferHuman = "offer_human"
)

// dialogueState is a conversation's dialogue state, persisted as JSON with ConversationStore.SaveState
// after every answered message (so a restart loses nothing).
type dialogueState struct {
	V           int               `json:"v"`
	LastHandled int64             `json:"last_handled"` // seq of the last customer message answered
	Slots       map[string]string `json:"slots,omitempty"`
	Form        *form             `json:"form,omitempty"`
	Pending     *pending          `json:"pending,omitempty"`
	LastIntents []string          `json:"last_intents,omitempty"` // most recent last, at most 5
	Fallbacks   int               `json:"fallbacks,omitempty"`    // consecutive messages not understood
	Shown       []string          `json:"shown,omitempty"`        // SKUs shown as cards, at most 50
}

// form is a multi-step question in progress (e.g. the order and its verification).
type form struct {
	Intent string `json:"intent"` // what to answer once complete
	Asked  string `json:"asked"`  // askOrder, askVerify, askProduct
	Tries  int    `json:"tries"`  // times the current question was asked
	Fails  int    `json:"fails"`  // failed verifications
}

// pending is a question the bot asked with buttons.
type pending struct {
	Kind    string   `json:"kind"`
	Options []string `json:"options,omitempty"`
}

func newState() *dialogueState {
	return &dialogueState{V: 1, Slots: map[string]string{}}
}

func decodeState(b []byte) (*dialogueState, error) {
	st := newState()
	if len(b) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(b, st); err != nil {
		return newState(), fmt.Errorf("chat: dialogue state: %w", err)
	}
	if st.Slots == nil {
		st.Slots = map[string]string{}
	}
	return st, nil
}

func (s *dialogueState) encode() ([]byte, error) { return json.Marshal(s) }

func (s *dialogueState) pushIntent(intent string) {
	if intent == "" {
		return
	}
	s.LastIntents = append(s.LastIntents, intent)
	if len(s.LastIntents) > 5 {
		s.LastIntents = s.LastIntents[len(s.LastIntents)-5:]
	}
}

func (s *dialogueState) lastIntent() string {
	for i := len(s.LastIntents) - 1; i >= 0; i-- {
		if _, ok := intentTitles[s.LastIntents[i]]; ok {
			return s.LastIntents[i]
		}
	}
	return ""
}

func (s *dialogueState) addShown(skus ...string) {
	s.Shown = append(s.Shown, skus...)
	if len(s.Shown) > 50 {
		s.Shown = s.Shown[len(s.Shown)-50:]
	}
}

// significant is the part of the state that changes what the bot says next (everything but the
// last-handled seq and the intent history).
func (s *dialogueState) significant() string {
	c := *s
	c.LastHandled, c.LastIntents = 0, nil
	b, _ := json.Marshal(&c)
	return string(b)
}
