package kb

import (
	"context"
	"io"
)

// The small interfaces consumers of the knowledge base program against, one per purpose, so that a
// PostgreSQL implementation for multi-node deployments can follow *Store without a fat interface.
// Packages that use them may also declare their own subsets (chat declares MessageStore and
// ConversationStore). Implementations must be safe for concurrent use.

// OrderLookup finds orders for verified requesters.
type OrderLookup interface {
	// LookupOrder discloses an order only to a verified requester; unknown and unverified both give
	// ErrNotFound, repeated failures ErrTooManyAttempts.
	LookupOrder(ctx context.Context, q OrderQuery) (Order, error)
	// RecentOrders lists a signed-in customer's latest orders.
	RecentOrders(ctx context.Context, customerID string, limit int) ([]Order, error)
}

// FAQSearcher ranks FAQs for a shopper's question.
type FAQSearcher interface {
	SearchFAQ(ctx context.Context, query, locale string, limit int) ([]FAQHit, error)
}

// AnswerSource returns the answer template of an intent.
type AnswerSource interface {
	AnswerTemplate(ctx context.Context, intent, locale string) (Template, error)
}

// Catalogue finds products.
type Catalogue interface {
	FindProducts(ctx context.Context, query string, limit int) ([]Product, error)
	ProductBySKU(ctx context.Context, sku string) (Product, error)
	ListProducts(ctx context.Context) ([]Product, error)
}

// CustomerDirectory reads customers.
type CustomerDirectory interface {
	Customer(ctx context.Context, id string) (Customer, error)
}

// SignalSource feeds the recommender's training and filtering.
type SignalSource interface {
	Interactions(ctx context.Context) ([]Interaction, error)
	PurchasedSKUs(ctx context.Context, customerID string) ([]string, error)
}

// ImpressionLog records and reads what was shown to a shopper.
type ImpressionLog interface {
	RecordImpressions(ctx context.Context, convID, customerID string, skus []string, source string) error
	ShownSKUs(ctx context.Context, convID string) ([]string, error)
}

// EventLog appends analytics events.
type EventLog interface {
	AppendEvent(ctx context.Context, e Event) error
}

// Importer loads and dumps the shop's files.
type Importer interface {
	Import(ctx context.Context, kind Kind, format Format, name string, r io.Reader) (ImportReport, error)
	Export(ctx context.Context, kind Kind, format Format, w io.Writer) error
}

// PrivacyOffice answers GDPR requests.
type PrivacyOffice interface {
	ForgetCustomer(ctx context.Context, id string) (ForgetReport, error)
	ExportCustomer(ctx context.Context, id string) (CustomerExport, error)
}

// Compile-time guards.
var (
	_ OrderLookup       = (*Store)(nil)
	_ FAQSearcher       = (*Store)(nil)
	_ AnswerSource      = (*Store)(nil)
	_ Catalogue         = (*Store)(nil)
	_ CustomerDirectory = (*Store)(nil)
	_ SignalSource      = (*Store)(nil)
	_ ImpressionLog     = (*Store)(nil)
	_ EventLog          = (*Store)(nil)
	_ Importer          = (*Store)(nil)
	_ PrivacyOffice     = (*Store)(nil)
)
