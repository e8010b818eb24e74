package recommender

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/shopchat/shopchat/kb"
)

// CatalogInfo turns products into the features the model trains on.
func CatalogInfo(products []kb.Product) map[string]ItemInfo {
	out := make(map[string]ItemInfo, len(products))
	for _, p := range products {
		out[p.SKU] = ItemInfo{Category: p.Category, Price: p.Price}
	}
	return out
}

// FromKB converts the store's interactions into training interactions.
func FromKB(in []kb.Interaction) []Interaction {
	out := make([]Interaction, 0, len(in))
	for _, it := range in {
		if it.CustomerID == "" || it.SKU == "" {
			continue
		}
		out = append(out, Interaction{User: it.CustomerID, Item: it.SKU, Kind: it.Kind, Weight: it.Weight, At: it.At})
	}
	return out
}

// TrainFromKB trains a model on the store's interactions and catalogue (features for every product, with
// or without interactions) and saves it to outDir atomically. serve --demo uses it.
func TrainFromKB(ctx context.Context, store *kb.Store, outDir string, seed int64, log *slog.Logger) error {
	_, err := TrainFromStore(ctx, store, outDir, TrainConfig{Seed: seed}, log)
	return err
}

// TrainFromStore is TrainFromKB with a full configuration; it returns the saved model.
func TrainFromStore(ctx context.Context, store Store, outDir string, cfg TrainConfig, log *slog.Logger) (*Model, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	products, err := store.ListProducts(ctx)
	if err != nil {
		return nil, fmt.Errorf("recommender: catalogue: %w", err)
	}
	ins, err := store.Interactions(ctx)
	if err != nil {
		return nil, fmt.Errorf("recommender: interactions: %w", err)
	}
	m, err := Train(ctx, FromKB(ins), cfg, TrainOptions{Catalog: CatalogInfo(products), Logger: log,
		Progress: func(stage string) { log.Info("recommender training", "stage", stage) }})
	if err != nil {
		return nil, err
	}
	if err := m.Save(outDir); err != nil {
		return nil, fmt.Errorf("recommender: save model: %w", err)
	}
	log.Info("recommender model saved", "dir", outDir, "version", m.Version(), "products", m.NumItems(), "customers", m.NumUsers())
	return m, nil
}
