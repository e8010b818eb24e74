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
}

// Item is one recommended product.
type Item struct {
	SKU    string  `json:"sku"`
	Score  float64 `json:"score"`
	Reason string  `json:"reason"`
}
