// Package nlp turns raw customer text into what the models and the dialogue use: normalised text,
// subword tokens and entities (order numbers, emails, dates, products, ...).
package nlp

// Entity types.
const (
	EntityOrderNumber = "order_number"
	EntityEmail       = "email"
	EntityPhone       = "phone"
	EntityTracking    = "tracking_number"
	EntityMoney       = "money"
	EntityQuantity    = "quantity"
	EntityDate        = "date"
	EntityProduct     = "product"
	EntityPostcode    = "postcode"
)

// Entity is one fact found in a message. Start and End are byte offsets into the original text; Value is
// the normalised value (order number "A10023", email lower-cased, date "2026-11-27", money "49.90 EUR",
// product SKU).
type Entity struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Value string `json:"value"`
}
