package intents

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/shopchat/shopchat/internal/torchrt"
)

// NetConfig is the shape of one network of the ensemble.
type NetConfig struct {
	// Inputs is the number of feature columns (Featurizer.Dim).
	Inputs int `json:"inputs"`
	// Hidden is the width of the hidden layer; 0 makes the network linear (logistic regression on the
	// TF-IDF features: the baseline).
	Hidden int `json:"hidden"`
	// Classes is the number of labels.
	Classes int `json:"classes"`
	// Dropout is applied to the hidden layer while training.
	Dropout float64 `json:"dropout"`
	// Dense is the number of dense inputs (the word-vector features, Featurizer.DenseDim), which a
	// linear map without bias adds to the first layer; 0: none.
	Dense int `json:"dense,omitempty"`
}

// Network is the intent network in gotch: the sparse TF-IDF vector of a message is multiplied by an
// embedding table (the message's feature rows, scaled by their weights and summed by one embedding_bag
// op: a sparse-dense product), then a bias and ReLU give the hidden layer, and a linear layer
// gives the logits. With Hidden 0 the table holds the class weights directly (a linear model).
// A Network is not safe for concurrent use; keep it on one torchrt.Worker.
type Network struct {
	cfg   NetConfig
	emb   *nn.Embedding
	bias  *ts.Tensor
	dense *nn.Linear // nil when cfg.Dense is 0
	out   *nn.Linear
}

// NewNetwork creates the variables of a network under p with the initialisation the training uses.
func NewNetwork(p *nn.Path, cfg NetConfig) (*Network, error) {
	return NewNetworkTable(p, p.Sub("emb"), cfg)
}

// NewNetworkTable is NewNetwork with the embedding table's variable created under table, which may
// belong to another VarStore: a trainer that updates the table's rows itself keeps it out of the store
// its optimiser updates. The variables are created, and drawn from libtorch's generator, in the same
// order as NewNetwork's.
func NewNetworkTable(p, table *nn.Path, cfg NetConfig) (*Network, error) {
	if cfg.Inputs <= 0 || cfg.Classes <= 0 || cfg.Hidden < 0 || cfg.Dense < 0 || cfg.Dense > maxVectorDim {
		return nil, fmt.Errorf("intents: bad network shape %+v", cfg)
	}
	width := cfg.Hidden
	if width == 0 {
		width = cfg.Classes
	}
	ec := nn.DefaultEmbeddingConfig()
	// Rows are summed with TF-IDF weights of L2 norm ~1 per group, so a fan-in-like scale keeps the
	// pre-activations of order one.
	b := math.Sqrt(3.0 / float64(width))
	if cfg.Hidden == 0 {
		b = 0
	}
	if b == 0 {
		ec.WsInit = nn.NewConstInit(0)
	} else {
		ec.WsInit = nn.NewUniformInit(-b, b)
	}
	n := &Network{cfg: cfg}
	n.emb = nn.NewEmbedding(table, int64(cfg.Inputs), int64(width), ec)
	bias, err := p.Zeros("bias", []int64{int64(width)})
	if err != nil {
		return nil, err
	}
	n.bias = bias
	if cfg.Dense > 0 {
		// The dense input has norm VectorWeight (6 by default); the sparse rows' scale keeps the two
		// contributions comparable at the start.
		dc := nn.DefaultLinearConfig()
		db := b
		if db == 0 {
			db = math.Sqrt(3.0 / float64(width))
		}
		dc.WsInit = nn.NewUniformInit(-db, db)
		dc.Bias = false
		n.dense = nn.NewLinear(p.Sub("dense"), int64(cfg.Dense), int64(width), dc)
	}
	if cfg.Hidden > 0 {
		lc := nn.DefaultLinearConfig()
		lb := 1 / math.Sqrt(float64(cfg.Hidden))
		lc.WsInit = nn.NewUniformInit(-lb, lb)
		lc.BsInit = nn.NewConstInit(0)
		n.out = nn.NewLinear(p.Sub("out"), int64(cfg.Hidden), int64(cfg.Classes), lc)
	}
	return n, nil
}

// Config reports the network's shape.
func (n *Network) Config() NetConfig { return n.cfg }

// ForwardBag computes logits [B, Classes] from a batch of sparse vectors in flat form: idx [N] int64
// feature columns of every message one after the other, off [B] int64 where each message's columns
// start in idx, and val [N] float their weights (N may not be 0: pad with column 0, weight 0); and,
// when the network has dense inputs, dense [B, Dense] (nil otherwise). It sums the weighted rows of
// table (nil: the network's own embedding table; a trainer may pass the batch's rows of it, with idx
// numbering those rows) with one embedding_bag op, which materialises neither a padded [B,T,W] gather
// nor, in the backward pass, its gradient. While training, dropMask [B, Hidden] (0 or 1/(1-p), made by
// the caller from a seeded Go generator) is applied to the hidden layer; pass nil at inference. (The
// mask replaces libtorch's dropout op, which crashed intermittently inside atg_dropout under gotch
// v0.9.1 on libtorch 1.13.) It drops its intermediates. embedding_bag has four outputs: it needs the
// adapted gotch of scripts/adapt-gotch.sh, whose multi-output wrappers have room for them.
func (n *Network) ForwardBag(table, idx, off, val, dense, dropMask *ts.Tensor) *ts.Tensor {
	if table == nil {
		table = n.emb.Ws
	}
	s, o2b, size, maxIdx := ts.MustEmbeddingBag(table, idx, off, false, 0, false, val, false) // [B,W]
	o2b.MustDrop()
	size.MustDrop()
	maxIdx.MustDrop()
	return n.head(s, dense, dropMask)
}

// Table is the network's embedding table [Inputs, W] (W: Hidden, or Classes for a linear network).
func (n *Network) Table() *ts.Tensor { return n.emb.Ws }

// head adds the bias and the dense inputs to the summed rows s [B,W] (which it drops) and, with a
// hidden layer, applies ReLU, the dropout mask and the output layer.
func (n *Network) head(s, dense, dropMask *ts.Tensor) *ts.Tensor {
	s = s.MustAdd(n.bias, true)
	if n.dense != nil && dense != nil {
		d := n.dense.Forward(dense)
		s = s.MustAdd(d, true)
		d.MustDrop()
	}
	if n.out == nil {
		return s
	}
	h := s.MustRelu(true)
	if dropMask != nil {
		h = h.MustMul(dropMask, true)
	}
	out := n.out.Forward(h)
	h.MustDrop()
	return out
}

// Weights holds a Network's weights in Go memory for the allocation-free forward pass the Classifier
// uses (see docs/intents.md: at batch 1, gotch's per-op overhead and its per-op malloc leak cost more than
// the arithmetic).
type Weights struct {
	cfg   NetConfig
	width int
	emb   []float32 // [Inputs, width]; nil once quantised for serving only (dropF32)
	// With PrecisionInt8, every layer also has an int8 copy with one scale per row, which logits reads
	// instead: the embedding table, the dense layer and the output layer (nil otherwise).
	embQ, denseQ, outQ []int8
	embS, denseS, outS []float32
	bias               []float32 // [width]
	dense              []float32 // [Dense, width] (gotch's transposed Linear.Ws view), nil without dense inputs
	outW               []float32 // [Hidden, Classes] (the layout of gotch's transposed Linear.Ws view)
	outB               []float32 // [Classes]
}

func tensorFloats(t *ts.Tensor) ([]float32, error) { return torchrt.Float32s(t) }

// dense copies the network's weights into Go memory.
func (n *Network) Weights() (*Weights, error) {
	d := &Weights{cfg: n.cfg, width: n.cfg.Hidden}
	if d.width == 0 {
		d.width = n.cfg.Classes
	}
	var err error
	if d.emb, err = tensorFloats(n.emb.Ws); err != nil {
		return nil, err
	}
	if d.bias, err = tensorFloats(n.bias); err != nil {
		return nil, err
	}
	if n.dense != nil {
		if d.dense, err = tensorFloats(n.dense.Ws); err != nil {
			return nil, err
		}
	}
	if n.out != nil {
		if d.outW, err = tensorFloats(n.out.Ws); err != nil {
			return nil, err
		}
		if d.outB, err = tensorFloats(n.out.Bs); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// quantize adds the int8 copies of the layers (PrecisionInt8), which logits then reads. The dense and
// output layers are small, but every message reads all of them: at float32, five networks' worth
// (4.5 MB for CLINC150) do not stay in a core's L2 cache beside the embedding rows.
func (d *Weights) quantize() {
	if d.embQ != nil {
		return
	}
	d.embQ, d.embS = quantizeRows(d.emb, d.width)
	if d.dense != nil {
		d.denseQ, d.denseS = quantizeRows(d.dense, d.width)
	}
	if d.outW != nil {
		d.outQ, d.outS = quantizeRows(d.outW, d.cfg.Classes)
	}
}

// rowBuf holds the row pointers and coefficients of one accRows call; logits reuses it.
type rowBuf struct {
	rows []unsafe.Pointer
	a    []float32
}

func (b *rowBuf) reset() { b.rows, b.a = b.rows[:0], b.a[:0] }

func (b *rowBuf) add(p unsafe.Pointer, a float32) {
	b.rows = append(b.rows, p)
	b.a = append(b.a, a)
}

// addRow adds row r (of width w) of a layer with coefficient x: the int8 row, x times its scale, when
// the layer has an int8 copy (q non-nil), else the float32 row.
func (b *rowBuf) addRow(f []float32, q []int8, scale []float32, r, w int, x float32) {
	if q != nil {
		b.add(unsafe.Pointer(&q[r*w]), x*scale[r])
		return
	}
	b.add(unsafe.Pointer(&f[r*w]), x)
}

// accInto adds the rows gathered so far to dst (accRowsI8 for int8 rows, accRows for float32).
func (b *rowBuf) accInto(dst []float32, int8Rows bool) {
	if int8Rows {
		accRowsI8(dst, b.rows, b.a)
	} else {
		accRows(dst, b.rows, b.a)
	}
}

// logits computes the network's logits for one sparse vector and its dense features (nil or len
// Dense) into out (len Classes), using hidden (len width) and rb as scratch. Each layer is one accRows
// call over the rows its non-zero inputs select, which holds blocks of the layer's output in registers
// instead of loading and storing them once per input. It is safe for concurrent use (it only reads the
// weights).
func (d *Weights) logits(idx []int32, val []float32, dense []float32, hidden, out []float32, rb *rowBuf) {
	w := d.width
	hidden = hidden[:w]
	copy(hidden, d.bias)
	rb.reset()
	quant := d.embQ != nil
	for k, col := range idx {
		rb.addRow(d.emb, d.embQ, d.embS, int(col), w, val[k])
	}
	if d.dense != nil {
		for k, x := range dense {
			if x != 0 {
				rb.addRow(d.dense, d.denseQ, d.denseS, k, w, x)
			}
		}
	}
	rb.accInto(hidden, quant)
	if d.outW == nil {
		copy(out, hidden[:d.cfg.Classes])
		return
	}
	// gotch's Linear keeps its weight as a transposed view: outW is [Hidden, Classes].
	cl := d.cfg.Classes
	out = out[:cl]
	copy(out, d.outB)
	rb.reset()
	for j, x := range hidden {
		if x > 0 { // ReLU; its zeros are common: skip their rows
			rb.addRow(d.outW, d.outQ, d.outS, j, cl, x)
		}
	}
	rb.accInto(out, quant)
}

// axpyGeneric adds a·x to dst (len(x) >= len(dst)), eight elements a step. Each element is computed
// exactly as the plain loop would (no reordering, no fused multiply-add), so results are bit-identical.
// The row kernels (accRows) are defined by it and give the same results (rows_amd64.s).
func axpyGeneric(dst, x []float32, a float32) {
	x = x[:len(dst)]
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		d, s := dst[i:i+8:i+8], x[i:i+8:i+8]
		d[0] += a * s[0]
		d[1] += a * s[1]
		d[2] += a * s[2]
		d[3] += a * s[3]
		d[4] += a * s[4]
		d[5] += a * s[5]
		d[6] += a * s[6]
		d[7] += a * s[7]
	}
	for ; i < len(dst); i++ {
		dst[i] += a * x[i]
	}
}
