package recommender

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestHTTPRecommendations(t *testing.T) {
	d := openDemo(t)
	srv := httptest.NewServer(d.svc.Handler())
	defer srv.Close()
	cust, _ := d.buyer(t)
	var sku, cat string
	for _, p := range d.prod {
		if p.Active {
			sku, cat = p.SKU, p.Category
			break
		}
	}
	tests := []struct {
		name, query, auth string
		status            int
		code              string
	}{
		{"no key", "k=3", "", 401, "unauthorized"},
		{"wrong key", "k=3", "Bearer nope", 401, "unauthorized"},
		{"popular", "k=3", "Bearer test-key", 200, ""},
		{"x-api-key", "k=3", "X-API-Key test-key", 200, ""},
		{"customer", "customer=" + cust + "&k=4", "Bearer test-key", 200, ""},
		{"similar", "similar_to=" + sku + "&max_price=500", "Bearer test-key", 200, ""},
		{"category", "category=" + url.QueryEscape(cat) + "&k=2", "Bearer test-key", 200, ""},
		{"unknown customer", "customer=nobody", "Bearer test-key", 404, "unknown_customer"},
		{"unknown product", "similar_to=NOPE", "Bearer test-key", 404, "unknown_product"},
		{"unknown category", "category=Spaceships", "Bearer test-key", 404, "unknown_category"},
		{"k zero", "k=0", "Bearer test-key", 400, "bad_request"},
		{"k huge", "k=99999999999999999999", "Bearer test-key", 400, "bad_request"},
		{"k text", "k=ten", "Bearer test-key", 400, "bad_request"},
		{"bad escape", "k=%zz", "Bearer test-key", 400, "bad_request"},
		{"bad price", "max_price=-3", "Bearer test-key", 400, "bad_request"},
		{"unknown param", "colour=red", "Bearer test-key", 400, "bad_request"},
		{"repeated", "k=1&k=2", "Bearer test-key", 400, "bad_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/recommendations?"+tc.query, nil)
			if h, v, ok := strings.Cut(tc.auth, " "); ok {
				if h == "X-API-Key" {
					req.Header.Set(h, v)
				} else {
					req.Header.Set("Authorization", tc.auth)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				var e struct{ Error apiError }
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Code != tc.code || e.Error.Message == "" {
					t.Fatalf("error body %+v (%v), want code %s", e, err, tc.code)
				}
				return
			}
			var r Response
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
			if len(r.Items) == 0 || r.Model != d.model.Version() || resp.Header.Get("X-Recommender-Model") != r.Model {
				t.Fatalf("response %+v", r)
			}
			for _, it := range r.Items {
				if it.Reason == "" || it.Name == "" || !it.InStock {
					t.Fatalf("item %+v", it)
				}
			}
		})
	}
	resp, err := http.Post(srv.URL+"/api/v1/recommendations", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("customer=C1001&k=5&category=Women%27s+Tops&max_price=50")
	f.Add("similar_to=FW-1&items=a,b&in_stock=false&record=0")
	f.Add("k=%zz&&=;")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		if err != nil {
			return
		}
		if q.K < 0 || q.K > MaxK || q.MinPrice < 0 || q.MaxPrice < 0 {
			t.Fatalf("invalid query accepted: %+v", q)
		}
	})
}
