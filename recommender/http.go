package recommender

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Handler serves GET /api/v1/recommendations:
//
//	customer=ID      personalise for a customer (their purchases are never returned)
//	session=CONV     the conversation: products already shown there are not returned, and the result is
//	                 recorded as impressions there (record=false to skip)
//	items=SKU,SKU    products seen or mentioned in an anonymous session (seeds)
//	similar_to=SKU   products similar to this one
//	category=NAME    only this category; min_price, max_price: price range
//	in_stock=false   include sold-out products (default: in stock only)
//	exclude=SKU,SKU  never return these
//	k=N              how many (default 10, at most 100)
//
// It requires an API key (Authorization: Bearer KEY or X-API-Key: KEY). Errors are JSON
// {"error": {"code", "message"}} with 400 (bad parameter), 401 (no or wrong key), 404 (unknown customer,
// product or category), 405 (not GET) or 500/503. Without a model the service answers from the fallback
// (popularity from the store) and says so in the "model" field ("fallback") and the X-Recommender-Model
// header. The handler is safe for concurrent use.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/recommendations", s.serveRecommendations)
	return mux
}

// Response is the body of a successful GET /api/v1/recommendations.
type Response struct {
	Items []Item `json:"items"`
	Model string `json:"model"` // the model's version, or "fallback"
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]apiError{"error": {Code: code, Message: msg}})
}

func (s *Service) authorized(r *http.Request) bool {
	key := r.Header.Get("X-API-Key")
	if key == "" {
		if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			key = strings.TrimSpace(a[7:])
		}
	}
	if key == "" {
		return false
	}
	ok := 0
	for _, k := range s.cfg.APIKeys {
		if k != "" {
			ok |= subtle.ConstantTimeCompare([]byte(k), []byte(key))
		}
	}
	return ok == 1
}

// maxQueryLen bounds the raw query string.
const maxQueryLen = 4096

func (s *Service) serveRecommendations(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shopchat"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid API key (Authorization: Bearer KEY or X-API-Key)")
		return
	}
	q, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	items, err := s.Recommend(r.Context(), q)
	if err != nil {
		status, code := http.StatusInternalServerError, "internal"
		msg := "recommendation failed"
		switch {
		case errors.Is(err, ErrBadQuery):
			status, code, msg = http.StatusBadRequest, "bad_request", err.Error()
		case errors.Is(err, ErrUnknownCustomer):
			status, code, msg = http.StatusNotFound, "unknown_customer", err.Error()
		case errors.Is(err, ErrUnknownProduct):
			status, code, msg = http.StatusNotFound, "unknown_product", err.Error()
		case errors.Is(err, ErrUnknownCategory):
			status, code, msg = http.StatusNotFound, "unknown_category", err.Error()
		case r.Context().Err() != nil:
			status, code, msg = http.StatusServiceUnavailable, "cancelled", "request cancelled"
		default:
			s.log.Error("recommendations", "err", err)
		}
		writeError(w, status, code, msg)
		return
	}
	resp := Response{Items: items, Model: "fallback"}
	if m := s.Model(); m != nil {
		resp.Model = m.Version()
	}
	if resp.Items == nil {
		resp.Items = []Item{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Recommender-Model", resp.Model)
	_ = json.NewEncoder(w).Encode(resp)
}

// ParseQuery parses the query string of GET /api/v1/recommendations into a Query (in_stock defaults to
// true). Unknown parameters, repeated parameters, bad numbers and malformed escapes are errors.
func ParseQuery(raw string) (Query, error) {
	q := Query{InStockOnly: true}
	if len(raw) > maxQueryLen {
		return q, fmt.Errorf("query string longer than %d bytes", maxQueryLen)
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("malformed query string: %v", err)
	}
	num := func(name, v string) (float64, error) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1e12 || f != f {
			return 0, fmt.Errorf("%s=%q: want a non-negative number", name, v)
		}
		return f, nil
	}
	list := func(v string) []string {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	for name, vs := range vals {
		if len(vs) != 1 {
			return q, fmt.Errorf("parameter %s given %d times", name, len(vs))
		}
		v := strings.TrimSpace(vs[0])
		if len(v) > 1024 {
			return q, fmt.Errorf("parameter %s too long", name)
		}
		switch name {
		case "customer":
			q.CustomerID = v
		case "session":
			q.ConversationID = v
		case "items":
			q.SessionItems = list(v)
		case "similar_to":
			q.SimilarTo = v
		case "category":
			q.Category = v
		case "exclude":
			q.Exclude = list(v)
		case "min_price":
			if q.MinPrice, err = num(name, v); err != nil {
				return q, err
			}
		case "max_price":
			if q.MaxPrice, err = num(name, v); err != nil {
				return q, err
			}
		case "k":
			k, err := strconv.Atoi(v)
			if err != nil {
				return q, fmt.Errorf("k=%q: want an integer between 1 and %d", v, MaxK)
			}
			if k <= 0 || k > MaxK {
				return q, fmt.Errorf("k=%d: want between 1 and %d", k, MaxK)
			}
			q.K = k
		case "in_stock":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return q, fmt.Errorf("in_stock=%q: want true or false", v)
			}
			q.InStockOnly = b
		case "record":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return q, fmt.Errorf("record=%q: want true or false", v)
			}
			q.NoRecord = !b
		default:
			return q, fmt.Errorf("unknown parameter %q", name)
		}
	}
	if q.MaxPrice > 0 && q.MinPrice > q.MaxPrice {
		return q, fmt.Errorf("min_price %v is above max_price %v", q.MinPrice, q.MaxPrice)
	}
	if q.SimilarTo != "" && (len(q.SessionItems) > 0) {
		return q, errors.New("give similar_to or items, not both")
	}
	if q.Source == "" {
		q.Source = "api"
	}
	return q, nil
}
