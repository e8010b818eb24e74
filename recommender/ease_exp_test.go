package recommender

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
	"github.com/shopchat/shopchat/internal/torchrt"
)

func TestEASEExperiment(t *testing.T) {
	lam, _ := strconv.ParseFloat(os.Getenv("REC_EASE"), 64)
	if lam == 0 {
		t.Skip()
	}
	train, cases := loadML100K(t)
	runtime.LockOSThread()
	torchrt.SetNumThreads(2)
	start := time.Now()
	d, _ := buildDataset(train, nil, 0)
	nu, ni := len(d.users), len(d.items)
	x := make([]float32, nu*ni)
	for k := range d.pu {
		x[int(d.pu[k])*ni+int(d.pi[k])] = 1
	}
	X := ts.MustOfSlice(x).MustView([]int64{int64(nu), int64(ni)}, true)
	G := X.MustT(false).MustMm(X, true)
	eye := ts.MustEye(int64(ni), gotch.Float, gotch.CPU).MustMulScalar(ts.FloatScalar(lam), true)
	G = G.MustAdd(eye, true)
	P := G.MustInverse(true)
	diag := P.MustDiagonal(0, 0, 1, false).MustUnsqueeze(0, true) // [1,n]
	B := P.MustDiv(diag, true).MustNeg(true)
	b, _ := copyFloats(B)
	for i := 0; i < ni; i++ {
		b[i*ni+i] = 0
	}
	t.Logf("EASE fit %.2fs", time.Since(start).Seconds())
	alpha, _ := strconv.ParseFloat(os.Getenv("REC_ALPHA"), 64)
	hl, _ := strconv.ParseFloat(os.Getenv("REC_HL"), 64)
	w := make([]map[int32]float32, nu)
	last := make([]int64, nu)
	for k := range d.pu {
		if d.pt[k] > last[d.pu[k]] {
			last[d.pu[k]] = d.pt[k]
		}
	}
	for k := range d.pu {
		u := d.pu[k]
		if w[u] == nil {
			w[u] = map[int32]float32{}
		}
		age := float64(last[u]-d.pt[k]) / (hl * 86400)
		w[u][d.pi[k]] = float32(1 + alpha*math.Exp(-age))
	}
	m := EvaluateLOO(cases, ScorerFunc(func(user, item string) (float64, bool) {
		u, ok := d.userIdx[user]
		if !ok {
			return 0, false
		}
		j, ok := d.itemIdx[item]
		if !ok {
			return 0, false
		}
		var s float32
		for _, i := range d.userItems[u] {
			s += w[u][i] * b[int(i)*ni+int(j)]
		}
		return float64(s), true
	}))
	t.Logf("alpha %v hl %v EASE lambda %v: HR %.4f NDCG %.4f", alpha, hl, lam, m.HR, m.NDCG)
}
