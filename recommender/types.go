// Package recommender is the shop's shared recommendation model: trained offline with libtorch, served
// from precomputed embeddings to every conversation and over HTTP.
package recommender

// Reasons a product is recommended.
const (
	ReasonPersonal = "personal"
	ReasonSimilar  = "similar"
	ReasonPopular  = "popular"
)

// Query asks for recommendations. Exactly one of CustomerID, SessionItems or SimilarTo is the seed;
// none means popular items.
type Query struct {
	CustomerID   string   // personalised for a known customer
	SessionItems []string // product SKUs seen or mentioned in this conversation (anonymous session)
	SimilarTo    string   // product SKU
	Category     string   // filter: only this category
	MinPrice     float64  // filter: 0 = none
	MaxPrice     float64  // filter: 0 = none
	InStockOnly  bool
	Exclude      []string // SKUs never to return (purchased, already shown, explicit)
	K            int

	// ConversationID, when set, excludes the products already shown in that conversation and records
	// the result as impressions there (source Source, default the reason), unless NoRecord.
	ConversationID string
	Source         string
	NoRecord       bool
}

// Item is one recommended product.
type Item struct {
	SKU    string  `json:"sku"`
	Score  float64 `json:"score"`
	Reason string  `json:"reason"`

	// Product details from the catalogue snapshot, for display.
	Name     string  `json:"name,omitempty"`
	Category string  `json:"category,omitempty"`
	Price    float64 `json:"price,omitempty"`
	Currency string  `json:"currency,omitempty"`
	InStock  bool    `json:"in_stock"`
}
