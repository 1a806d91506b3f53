package dev.panthera.tensor;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.Elements;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;

/**
 * An n-dimensional array on a device: a {@link Storage} seen through a {@link Layout}. Views (transpose, permute,
 * narrow, select, expand, reshape of contiguous data) share storage; every op returns a new tensor. Binary ops
 * broadcast as NumPy does; names and semantics follow PyTorch. Differentiable ops record an {@link Op} when an input
 * {@link #requiresGrad()}, and {@link #backward()} fills {@link #grad()} of the leaves.
 *
 * <p>Memory belongs to the innermost open {@link MemoryScope} of the creating thread, or to the GC when none is open.
 */
public final class Tensor {
    private static final AtomicLong IDS = new AtomicLong();

    private final Storage storage;
    private final Layout layout;
    private final long id = IDS.incrementAndGet();
    private String name;
    private boolean requiresGrad;
    private Tensor grad;
    /** The pool block under {@link #grad} when a backward pass made it ({@link #accumulateGrad}); released by zeroGrad. */
    private MemoryPool.Allocation gradBlock;

    private Op gradFn;

    Tensor(Storage storage, Layout layout) {
        long[] span = layout.span();
        if (span[1] >= storage.numel()) {
            throw new IllegalArgumentException(
                    "layout " + layout + " reaches element " + span[1] + " of a storage of " + storage.numel());
        }
        this.storage = storage;
        this.layout = layout;
    }

    // ---------------------------------------------------------------- creation (see Creation for the work)

    /** A tensor of zeros. */
    public static Tensor zeros(DType dtype, Shape shape) {
        return empty(dtype, shape, Device.CPU);
    }
    /** A tensor of zeros on {@code device}. */
    public static Tensor zeros(DType dtype, Shape shape, Device device) {
        return empty(dtype, shape, device);
    }
    /** Contiguous zeros of {@code t}'s shape, dtype and device. */
    public static Tensor zerosLike(Tensor t) {
        return empty(t.dtype(), t.shape(), t.device());
    }
    /** F32 zeros. */
    public static Tensor zeros(long... shape) {
        return zeros(DType.F32, Shape.of(shape));
    }
    /** Every element {@code value}, on {@code device}. */
    public static Tensor full(DType dtype, double value, Shape shape, Device device) {
        return Creation.full(dtype, value, shape, device);
    }
    /** Ones of {@code t}'s shape, dtype and device. */
    public static Tensor onesLike(Tensor t) {
        return Creation.full(t.dtype(), 1.0, t.shape(), t.device());
    }
    /** F32 ones. */
    public static Tensor ones(long... shape) {
        return full(DType.F32, 1.0, shape);
    }
    /** Every element {@code value}. */
    public static Tensor full(DType dtype, double value, long... shape) {
        return Creation.full(dtype, value, Shape.of(shape));
    }
    /** A rank-0 F32 tensor. */
    public static Tensor scalar(double value) {
        return full(DType.F32, value);
    }
    /** {@code start, start+step, ...} below {@code end}, as F32 when any bound is fractional, else I64. */
    public static Tensor arange(double start, double end, double step) {
        return Creation.arange(start, end, step);
    }
    /** {@code 0, 1, ..., end-1} as I64. */
    public static Tensor arange(long end) {
        return Creation.arange(0, end, 1);
    }
    /** {@code steps} evenly spaced F32 values from start to end inclusive. */
    public static Tensor linspace(double start, double end, int steps) {
        return Creation.linspace(start, end, steps);
    }
    /** The n×n F32 identity. */
    public static Tensor eye(long n) {
        return Creation.eye(n);
    }
    /** Uniform [0, 1) F32 values from a seeded generator: the same seed gives the same tensor. */
    public static Tensor rand(Shape shape, long seed) {
        return Creation.rand(seeded(seed), shape, false);
    }
    /** Standard normal F32 values from a seeded generator: the same seed gives the same tensor. */
    public static Tensor randn(Shape shape, long seed) {
        return Creation.rand(seeded(seed), shape, true);
    }
    /** Uniform [0, 1) values drawn from {@code rng}. */
    public static Tensor rand(RandomGenerator rng, long... shape) {
        return Creation.rand(rng, Shape.of(shape), false);
    }
    /** Standard normal values drawn from {@code rng}. */
    public static Tensor randn(RandomGenerator rng, long... shape) {
        return Creation.rand(rng, Shape.of(shape), true);
    }
    /** An F32 tensor copied from {@code data} in row-major order. */
    public static Tensor of(float[] data, long... shape) {
        return Creation.fromArray(data, shape);
    }
    /**
     * An F32 tensor of {@code shape} copied from {@code data[offset ..]} in row-major order (for a reused array longer
     * than the tensor); the range must lie inside the array.
     */
    public static Tensor of(float[] data, int offset, Shape shape) {
        return Creation.fromArray(data, offset, shape);
    }
    /** An F64 tensor copied from {@code data}. */
    public static Tensor of(double[] data, long... shape) {
        return Creation.fromArray(data, shape);
    }
    /** An I64 tensor copied from {@code data}. */
    public static Tensor of(long[] data, long... shape) {
        return Creation.fromArray(data, shape);
    }
    /** An I32 tensor copied from {@code data}. */
    public static Tensor of(int[] data, long... shape) {
        return Creation.fromArray(data, shape);
    }
    /** A BOOL tensor copied from {@code data}. */
    public static Tensor of(boolean[] data, long... shape) {
        return Creation.fromArray(data, shape);
    }
    /** A 1-D F32 tensor of the given values. */
    public static Tensor of(float... data) {
        return Creation.fromArray(data, data.length);
    }
    /** A 2-D F32 tensor from rows of equal length. */
    public static Tensor of(float[][] rows) {
        return Creation.fromRows(rows);
    }

    /**
     * A zero-copy, row-major tensor over {@code data}. The caller owns the segment's lifetime (its arena, a mapped
     * file); the tensor fails with IllegalStateException once that memory is gone.
     */
    public static Tensor fromSegment(MemorySegment data, DType dtype, Shape shape) {
        long need = Math.multiplyExact(shape.numel(), (long) dtype.byteSize());
        if (data.byteSize() < need) {
            throw new IllegalArgumentException("fromSegment: " + data.byteSize() + " bytes cannot hold " + dtype + " "
                    + shape + " (" + need + " bytes)");
        }
        return new Tensor(Storage.wrap(data, dtype, shape.numel(), data), Layout.contiguous(shape));
    }

    /**
     * As {@link #fromSegment(MemorySegment, DType, Shape)}, for memory owned by something outside tensor (a mapped
     * weight file): {@code source} names it (e.g. "safetensors file /models/x.safetensors") in the error a use after
     * its release throws.
     */
    public static Tensor fromSegment(MemorySegment data, DType dtype, Shape shape, String source) {
        Tensor t = fromSegment(data, dtype, shape);
        return new Tensor(
                Storage.wrap(
                        data, dtype, shape.numel(), new ExternalOwner(Objects.requireNonNull(source), data, false)),
                t.layout);
    }

    /**
     * As {@link #fromSegment(MemorySegment, DType, Shape, String)}, for memory that nothing writes after this call (a
     * weight file's tensor copied onto the Java heap): the tensor is read-only ({@link #isReadOnly()}) although its
     * segment is writable, so {@link #packedForMatmul()} shares it rather than copying it, as it shares a read-only
     * mapping.
     */
    public static Tensor fromFrozenSegment(MemorySegment data, DType dtype, Shape shape, String source) {
        Tensor t = fromSegment(data, dtype, shape);
        return new Tensor(
                Storage.wrap(data, dtype, shape.numel(), new ExternalOwner(Objects.requireNonNull(source), data, true)),
                t.layout);
    }

    /**
     * The owner of segment-backed storage that a named source (a file) released; keeps the segment reachable.
     * {@code frozen}: nothing writes the segment ({@link #fromFrozenSegment}).
     */
    private record ExternalOwner(String source, MemorySegment segment, boolean frozen) {}

    /** Whether {@code s} wraps memory that nothing writes ({@link #fromFrozenSegment}). */
    static boolean frozen(Storage s) {
        return s.owner() instanceof ExternalOwner o && o.frozen();
    }

    /** Zeros in the current scope on {@code device}. */
    static Tensor empty(DType dtype, Shape shape, Device device) {
        Backend be = Backends.forDevice(device);
        return new Tensor(MemoryScope.allocate(be, dtype, shape.numel()), Layout.contiguous(shape));
    }

    /** A contiguous tensor in the current scope whose contents are unspecified: the caller writes every element. */
    static Tensor uninitialized(DType dtype, Shape shape, Device device) {
        Backend be = Backends.forDevice(device);
        return new Tensor(MemoryScope.allocateUninitialized(be, dtype, shape.numel()), Layout.contiguous(shape));
    }

    private static RandomGenerator seeded(long seed) {
        return new java.util.SplittableRandom(seed);
    }

    /** A contiguous copy of t into fresh {@code target} storage, with no graph (used by {@link MemoryScope#keep}). */
    static Tensor copyInto(Tensor t, Storage target) {
        t.checkAlive("keep");
        Tensor out = new Tensor(target, Layout.contiguous(t.shape()));
        t.backend().copy(t.storage, t.layout, out.storage, out.layout);
        out.name = t.name;
        return out;
    }

    // ---------------------------------------------------------------- metadata

    public Shape shape() {
        return layout.shape();
    }

    public long[] dims() {
        return layout.shape().toArray();
    }

    public int rank() {
        return layout.rank();
    }

    public long numel() {
        return layout.numel();
    }

    public long size(int dim) {
        return layout.shape().dim(dim);
    }

    public DType dtype() {
        return storage.dtype();
    }

    public Device device() {
        return storage.device();
    }

    public Layout layout() {
        return layout;
    }

    public Storage storage() {
        return storage;
    }

    public boolean isContiguous() {
        return layout.isContiguous();
    }

    /** A name used in error messages and {@code toString}; default {@code tensor#<id>}. */
    public String name() {
        return name == null ? "tensor#" + id : name;
    }

    public Tensor name(String name) {
        this.name = name;
        return this;
    }

    /** Name, shape and dtype, for messages. */
    public String describe() {
        return "'" + name() + "' " + shape() + " " + dtype();
    }

    Backend backend() {
        return Backends.forDevice(device());
    }

    /** Throws IllegalStateException naming this tensor when its memory was freed. */
    void checkAlive(String op) {
        if (!storage.isAlive()) {
            String why = storage.owner() instanceof ExternalOwner o
                    ? o.source() + " was closed"
                    : "its MemoryScope closed or released it";
            throw new IllegalStateException(
                    op + ": tensor " + describe() + " was used after its memory was freed (" + why + ")");
        }
    }

    // ---------------------------------------------------------------- autograd

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf as requiring grad (returns this). Only floating-point tensors can require grad. */
    public Tensor requiresGrad(boolean on) {
        if (on && !dtype().isFloatingPoint())
            throw new IllegalArgumentException(
                    "requiresGrad: only floating-point tensors can require grad, got " + describe());
        if (!on && gradFn != null)
            throw new IllegalStateException("requiresGrad(false) on non-leaf " + describe() + "; use detach()");
        if (on && storage instanceof dev.panthera.tensor.spi.PackedStorage)
            throw new IllegalStateException("requiresGrad: " + describe()
                    + " is a packed, read-only weight for inference; train the tensor it was packed from");
        this.requiresGrad = on;
        return this;
    }

    /** The accumulated gradient of a leaf, or null. */
    public Tensor grad() {
        return grad;
    }
    /**
     * Drops the accumulated gradient (PyTorch's {@code grad = None}). A CPU gradient buffer that a backward pass made
     * for this leaf goes back to the backend's memory pool here, for the next pass to reuse without a fresh
     * allocation: the dropped gradient tensor and its views are dead afterwards (reading them throws); clone one
     * first to keep its values.
     */
    public void zeroGrad() {
        MemoryPool.Allocation block = gradBlock;
        gradBlock = null;
        grad = null;
        if (block != null) block.release();
    }
    /**
     * Replaces the accumulated gradient (for optimizers and hooks). A buffer the backward pass made for the gradient
     * replaced is left to the garbage collector (it goes back to the pool once nothing reaches it), since the caller
     * may still hold it.
     */
    public void setGrad(Tensor g) {
        gradBlock = null;
        grad = g;
    }
    /** The op that produced this tensor, or null for a leaf. */
    public Op gradFn() {
        return gradFn;
    }

    /**
     * This 2-D weight [in, out] as the right operand of later {@code x.matmul(w)} calls: a read-only tensor with the
     * same values, shape and strides, that a backend with a packed GEMM path reads in its pre-arranged form
     * (packed once here, not on every call). The values are this tensor's memory when that is read-only (a mapped
     * checkpoint), else a snapshot taken now: later writes to this tensor do not reach the result, and nothing can
     * write to the result, so its packed form never goes stale. Products equal those with this tensor bit for bit;
     * a backend without packing returns the read-only tensor alone. Refused for a tensor that requires grad (a packed
     * weight is for inference); the result is dead once this tensor's memory is released.
     */
    public Tensor packedForMatmul() {
        return PackedWeights.pack(this);
    }

    /**
     * True when no op may write this tensor's memory: a read-only mapped file, frozen memory
     * ({@link #fromFrozenSegment}), or a {@link #packedForMatmul()} result.
     */
    public boolean isReadOnly() {
        checkAlive("isReadOnly");
        return storage instanceof dev.panthera.tensor.spi.PackedStorage
                || (device().kind() == Device.Kind.CPU && (storage.segment().isReadOnly() || frozen(storage)));
    }

    /** Throws IllegalStateException naming this tensor and {@code op} when its memory is read-only. */
    void checkWritable(String op) {
        if (isReadOnly())
            throw new IllegalStateException(op + ": " + describe()
                    + " is read-only (a mapped checkpoint or a packed weight); write to a copy()");
    }

    /** The same data without the graph (a view sharing storage; does not require grad). */
    public Tensor detach() {
        return new Tensor(storage, layout).name(name);
    }

    /** Backward from a scalar with gradient 1 (see {@link #backward(Tensor)}). */
    public void backward() {
        if (numel() != 1)
            throw new IllegalStateException("backward: grad can be implicitly created only for scalar outputs; "
                    + describe() + " has " + numel() + " elements");
        backward(onesLike(this));
    }

    /**
     * Backward with an explicit upstream gradient of this tensor's shape, accumulating into each leaf's
     * {@link #grad()}. Inside a {@link MemoryScope} the pass is {@link Autograd#backwardReleasing}: every gradient it
     * makes goes back to the pool as soon as its uses are done (leaf gradients right after they are added into
     * {@code grad()}, which is memory of its own), so later gradient ops reuse blocks that are still in cache instead of
     * new ones, and the pass holds a few gradients at a time instead of all of them until the scope closes. Outside a
     * scope the pass is {@link Autograd#backward}, whose gradients are GC-managed. Either way the leaf gradients are
     * the same bits.
     */
    public void backward(Tensor gradient) {
        if (MemoryScope.current() != null) Autograd.backwardReleasing(this, gradient, Tensor::accumulateGrad, true);
        else Autograd.backward(this, gradient);
    }

    /**
     * Adds {@code g} into this leaf's gradient. The gradient buffer is GC-managed (made with
     * {@link MemoryScope#unscoped}) so it survives the scope a training step runs in; later calls add in place.
     */
    void accumulateGrad(Tensor g) {
        if (grad == null || !grad.storage.isAlive()) {
            gradBlock = null;
            grad = Device.CPU.equals(device()) ? pooledGrad(g) : MemoryScope.unscoped(() -> Ops.copy(g, dtype()));
        } else {
            grad.add_(g);
        }
    }

    /**
     * {@code g} copied (in this leaf's dtype) into a block of the backend's memory pool that this leaf owns: no zero
     * fill and, in a training loop, a block the previous step's {@link #zeroGrad} returned rather than fresh memory.
     * The block goes back to the pool at {@link #zeroGrad}, or once its storage is unreachable (a model dropped
     * without clearing its gradients).
     */
    private Tensor pooledGrad(Tensor g) {
        g.checkAlive("backward");
        if (!g.shape().equals(shape()))
            throw new IllegalArgumentException(
                    "backward: a gradient of shape " + g.shape() + " for a leaf of shape " + shape());
        Backend be = backend();
        long numel = shape().numel();
        MemoryPool.Allocation block = be.memoryPool().allocate(Math.multiplyExact(numel, (long) dtype().byteSize()));
        Tensor out;
        try {
            out = new Tensor(be.allocateUninitialized(dtype(), numel, block), Layout.contiguous(shape()));
            be.copy(g.storage, g.layout, out.storage, out.layout);
        } catch (RuntimeException | Error e) {
            block.release();
            throw e;
        }
        GRAD_BLOCKS.register(out.storage, block::release);
        gradBlock = block;
        return out;
    }

    /** Returns the pool blocks of leaf gradients whose storage became unreachable without a {@link #zeroGrad}. */
    private static final java.lang.ref.Cleaner GRAD_BLOCKS = java.lang.ref.Cleaner.create();

    /** Records {@code op} as this tensor's origin when recording is on and an input requires grad. */
    Tensor record(Op op) {
        if (!Autograd.isGradEnabled() || !dtype().isFloatingPoint()) return this;
        for (Tensor in : op.inputs()) {
            if (in.requiresGrad) {
                requiresGrad = true;
                gradFn = op;
                break;
            }
        }
        return this;
    }

    // ---------------------------------------------------------------- views (no copy)

    private Tensor view(Layout l, Op op) {
        checkAlive("view");
        Tensor t = new Tensor(storage, l);
        return t.record(op);
    }

    /** A view with new dimensions; one may be -1. Throws when the strides do not allow a view (use reshape). */
    public Tensor view(long... shape) {
        Shape s = Views.inferShape("view", shape(), shape);
        Layout l = layout.reshapeView(s);
        if (l == null)
            throw new IllegalArgumentException("view: shape " + shape() + " with strides "
                    + Arrays.toString(layout.strides()) + " cannot be viewed as " + s + "; use reshape");
        return view(l, new Op.Reshape(this));
    }

    /** New dimensions (one may be -1): a view when possible, else a contiguous copy. */
    public Tensor reshape(long... shape) {
        Shape s = Views.inferShape("reshape", shape(), shape);
        Layout l = layout.reshapeView(s);
        if (l != null) return view(l, new Op.Reshape(this));
        return contiguous().view(shape);
    }

    /** All dimensions flattened into one. */
    public Tensor flatten() {
        return reshape(-1);
    }
    /** Dimensions reordered. */
    public Tensor permute(int... perm) {
        return view(layout.permute(perm), new Op.Permute(this, perm.clone()));
    }
    /** Dimensions a and b swapped. */
    public Tensor transpose(int a, int b) {
        int[] perm = Views.swapPerm(rank(), a, b);
        return permute(perm);
    }
    /** The transpose of a 2-D tensor (1-D and 0-D tensors are returned as they are). */
    public Tensor t() {
        if (rank() > 2)
            throw new IllegalArgumentException("t: expects a tensor of at most 2 dimensions, got " + shape());
        return rank() < 2 ? this : transpose(0, 1);
    }
    /** {@code length} elements from {@code start} along {@code dim}. */
    public Tensor narrow(int dim, long start, long length) {
        int d = Shape.normalize(dim, rank(), "narrow");
        return view(layout.narrow(d, start, length), new Op.Slice(this, d, start, length, 1));
    }
    /** Python's {@code x[start:end:step]} along {@code dim} (negative bounds count from the end; clamped). */
    public Tensor slice(int dim, long start, long end, long step) {
        int d = Shape.normalize(dim, rank(), "slice");
        Layout l = layout.slice(d, start, end, step);
        long n = size(d);
        long s0 = start < 0 ? Math.max(0, start + n) : Math.min(start, n);
        return view(l, new Op.Slice(this, d, s0, l.shape().dim(d), step));
    }
    /** The sub-tensor at {@code index} of {@code dim} (that dimension removed). */
    public Tensor select(int dim, long index) {
        int d = Shape.normalize(dim, rank(), "select");
        long i = index < 0 ? index + size(d) : index;
        return view(layout.select(d, index), new Op.Select(this, d, i));
    }
    /** Broadcast to {@code shape} (-1 keeps a dimension) without copying. */
    public Tensor expand(long... shape) {
        long[] target = shape.clone();
        int lead = target.length - rank();
        for (int i = 0; i < target.length; i++) {
            if (target[i] == -1) {
                if (i < lead)
                    throw new IllegalArgumentException("expand: -1 not allowed for a new leading dimension, shape "
                            + shape() + " to " + Arrays.toString(shape));
                target[i] = size(i - lead);
            }
        }
        Shape s = Shape.of(target);
        if (s.equals(shape())) return this;
        return view(layout.expand("expand", s), new Op.Expand(this));
    }
    /** Size-1 dimensions removed. */
    public Tensor squeeze() {
        long[] d = Arrays.stream(dims()).filter(x -> x != 1).toArray();
        return d.length == rank() ? this : reshape(d);
    }
    /** Dimension {@code dim} removed if it has size 1. */
    public Tensor squeeze(int dim) {
        int d = Shape.normalize(dim, rank(), "squeeze");
        if (rank() == 0 || size(d) != 1) return this;
        return view(layout.select(d, 0), new Op.Reshape(this));
    }
    /** A size-1 dimension inserted at {@code dim}. */
    public Tensor unsqueeze(int dim) {
        return view(layout.unsqueeze(dim), new Op.Reshape(this));
    }

    /** This tensor if contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        return isContiguous() ? this : Ops.copy(this, dtype()).record(new Op.Copy(this));
    }

    /** A converted copy (this tensor when the dtype already matches). */
    public Tensor to(DType dtype) {
        return dtype == dtype() ? this : Ops.copy(this, dtype).record(new Op.Copy(this));
    }

    /**
     * This tensor on {@code device} (this tensor when it is already there): a contiguous copy made by the non-CPU
     * side's backend. Differentiable: the gradient travels back to this device.
     */
    public Tensor to(Device device) {
        if (device.equals(device())) return this;
        checkAlive("to");
        Backend target = Backends.forDevice(device);
        Backend mover = device.kind() != Device.Kind.CPU ? target : backend();
        Tensor out = new Tensor(MemoryScope.allocate(target, dtype(), numel()), Layout.contiguous(shape()));
        mover.copy(storage, layout, out.storage, out.layout);
        return out.record(new Op.Copy(this));
    }

    /** A contiguous copy that does not share storage. */
    public Tensor copy() {
        return Ops.copy(this, dtype()).record(new Op.Copy(this));
    }

    /**
     * Writes {@code src} (broadcast to this shape, converted to this dtype) into this tensor's elements in place.
     * Not recorded by autograd; refuses a leaf that requires grad while recording is on.
     */
    public Tensor copy_(Tensor src) {
        checkAlive("copy_");
        checkWritable("copy_");
        src.checkAlive("copy_");
        if (requiresGrad && gradFn == null && Autograd.isGradEnabled()) {
            throw new IllegalStateException(
                    "copy_: a leaf that requires grad is being modified in place; use Autograd.noGrad()");
        }
        Ops.sameDevice("copy_", this, src);
        Layout sl = src.layout.expand("copy_", shape());
        Storage from = src.storage;
        if (from == storage && !sl.equals(layout) && spansOverlap(sl, layout)) {
            // source and destination share memory (x.copy_(x.t()), a shifted narrow): read from a snapshot, or the
            // elementwise copy would read values it has already overwritten
            Tensor snapshot = Ops.copy(new Tensor(from, sl), src.dtype());
            from = snapshot.storage;
            sl = snapshot.layout;
        }
        backend().copy(from, sl, storage, layout);
        return this;
    }

    private static boolean spansOverlap(Layout a, Layout b) {
        long[] x = a.span(), y = b.span();
        return x[0] >= 0 && y[0] >= 0 && x[0] <= y[1] && y[0] <= x[1];
    }

    /** Fills this tensor in place with {@code value} (not recorded). */
    public Tensor fill_(double value) {
        checkAlive("fill_");
        checkWritable("fill_");
        backend().fill(storage, layout, value);
        return this;
    }

    /** Fills this tensor with zeros in place (not recorded). */
    public Tensor zero_() {
        return fill_(0);
    }

    // ---------------------------------------------------------------- in place (see InPlace for the rules)

    /** this += o in place (o broadcast to this shape; this dtype kept). */
    public Tensor add_(Tensor o) {
        return InPlace.binary(BinaryOp.ADD, this, o);
    }
    /** this += alpha·o in place, in one pass (PyTorch's {@code add_(other, alpha=)}). */
    public Tensor add_(Tensor o, double alpha) {
        return alpha == 1 ? add_(o) : InPlace.update(UpdateOp.ADD_SCALED, "add_", this, o, null, alpha);
    }

    public Tensor sub_(Tensor o) {
        return InPlace.binary(BinaryOp.SUB, this, o);
    }
    /** this −= alpha·o in place, in one pass. */
    public Tensor sub_(Tensor o, double alpha) {
        return alpha == 1 ? sub_(o) : InPlace.update(UpdateOp.ADD_SCALED, "sub_", this, o, null, -alpha);
    }

    public Tensor mul_(Tensor o) {
        return InPlace.binary(BinaryOp.MUL, this, o);
    }

    public Tensor div_(Tensor o) {
        return InPlace.binary(BinaryOp.DIV, this, o);
    }

    public Tensor add_(double v) {
        return InPlace.binary(BinaryOp.ADD, this, Ops.scalarLike(this, v));
    }

    public Tensor sub_(double v) {
        return InPlace.binary(BinaryOp.SUB, this, Ops.scalarLike(this, v));
    }

    public Tensor mul_(double v) {
        return InPlace.binary(BinaryOp.MUL, this, Ops.scalarLike(this, v));
    }

    public Tensor div_(double v) {
        return InPlace.binary(BinaryOp.DIV, this, Ops.scalarLike(this, v));
    }
    /** this += value·t1·t2 in place, in one pass. */
    public Tensor addcmul_(Tensor t1, Tensor t2, double value) {
        return InPlace.update(UpdateOp.ADDCMUL, "addcmul_", this, t1, t2, value);
    }
    /** this += value·t1/t2 in place, in one pass. */
    public Tensor addcdiv_(Tensor t1, Tensor t2, double value) {
        return InPlace.update(UpdateOp.ADDCDIV, "addcdiv_", this, t1, t2, value);
    }
    /** this += weight·(end − this) in place, in one pass (PyTorch's formula). */
    public Tensor lerp_(Tensor end, double weight) {
        return InPlace.update(UpdateOp.LERP, "lerp_", this, end, null, weight);
    }
    /** Elements limited to [min, max] in place (an infinite bound is no bound; NaN stays NaN). */
    public Tensor clamp_(double min, double max) {
        return InPlace.clamp(this, min, max);
    }

    public Tensor sqrt_() {
        return InPlace.unary(UnaryOp.SQRT, this);
    }

    public Tensor neg_() {
        return InPlace.unary(UnaryOp.NEG, this);
    }

    public Tensor exp_() {
        return InPlace.unary(UnaryOp.EXP, this);
    }

    // ---------------------------------------------------------------- elementwise

    public Tensor add(Tensor o) {
        return Ops.binary(BinaryOp.ADD, this, o);
    }

    public Tensor sub(Tensor o) {
        return Ops.binary(BinaryOp.SUB, this, o);
    }

    public Tensor mul(Tensor o) {
        return Ops.binary(BinaryOp.MUL, this, o);
    }

    public Tensor div(Tensor o) {
        return Ops.binary(BinaryOp.DIV, this, o);
    }

    public Tensor pow(Tensor o) {
        return Ops.binary(BinaryOp.POW, this, o);
    }

    public Tensor maximum(Tensor o) {
        return Ops.binary(BinaryOp.MAXIMUM, this, o);
    }

    public Tensor minimum(Tensor o) {
        return Ops.binary(BinaryOp.MINIMUM, this, o);
    }

    public Tensor add(double v) {
        return Ops.binary(BinaryOp.ADD, this, Ops.scalarLike(this, v));
    }

    public Tensor sub(double v) {
        return Ops.binary(BinaryOp.SUB, this, Ops.scalarLike(this, v));
    }

    public Tensor mul(double v) {
        return Ops.binary(BinaryOp.MUL, this, Ops.scalarLike(this, v));
    }

    public Tensor div(double v) {
        return Ops.binary(BinaryOp.DIV, this, Ops.scalarLike(this, v));
    }

    public Tensor pow(double v) {
        return Ops.binary(BinaryOp.POW, this, Ops.scalarLike(this, v));
    }

    public Tensor eq(Tensor o) {
        return Ops.binary(BinaryOp.EQ, this, o);
    }

    public Tensor ne(Tensor o) {
        return Ops.binary(BinaryOp.NE, this, o);
    }

    public Tensor lt(Tensor o) {
        return Ops.binary(BinaryOp.LT, this, o);
    }

    public Tensor le(Tensor o) {
        return Ops.binary(BinaryOp.LE, this, o);
    }

    public Tensor gt(Tensor o) {
        return Ops.binary(BinaryOp.GT, this, o);
    }

    public Tensor ge(Tensor o) {
        return Ops.binary(BinaryOp.GE, this, o);
    }

    public Tensor eq(double v) {
        return eq(Ops.scalarLike(this, v));
    }

    public Tensor ne(double v) {
        return ne(Ops.scalarLike(this, v));
    }

    public Tensor lt(double v) {
        return lt(Ops.scalarLike(this, v));
    }

    public Tensor le(double v) {
        return le(Ops.scalarLike(this, v));
    }

    public Tensor gt(double v) {
        return gt(Ops.scalarLike(this, v));
    }

    public Tensor ge(double v) {
        return ge(Ops.scalarLike(this, v));
    }

    public Tensor neg() {
        return Ops.unary(UnaryOp.NEG, this);
    }

    public Tensor exp() {
        return Ops.unary(UnaryOp.EXP, this);
    }

    public Tensor log() {
        return Ops.unary(UnaryOp.LOG, this);
    }

    public Tensor sqrt() {
        return Ops.unary(UnaryOp.SQRT, this);
    }

    public Tensor rsqrt() {
        return Ops.unary(UnaryOp.RSQRT, this);
    }

    public Tensor abs() {
        return Ops.unary(UnaryOp.ABS, this);
    }

    public Tensor tanh() {
        return Ops.unary(UnaryOp.TANH, this);
    }

    public Tensor sigmoid() {
        return Ops.unary(UnaryOp.SIGMOID, this);
    }

    public Tensor relu() {
        return Ops.unary(UnaryOp.RELU, this);
    }

    public Tensor sign() {
        return Ops.unary(UnaryOp.SIGN, this);
    }
    /** GELU with the exact erf (PyTorch's default). */
    public Tensor gelu() {
        return Ops.unary(UnaryOp.GELU_ERF, this);
    }
    /** GELU's tanh approximation (PyTorch's {@code approximate="tanh"}, GPT-2's "gelu_new"). */
    public Tensor geluTanh() {
        return Ops.unary(UnaryOp.GELU_TANH, this);
    }

    public Tensor silu() {
        return Ops.unary(UnaryOp.SILU, this);
    }
    /** 1/x. */
    public Tensor reciprocal() {
        return Ops.binary(BinaryOp.DIV, Ops.scalarLike(Ops.floatLike(this), 1.0), this);
    }
    /** Elements where {@code mask} is true replaced by {@code value} converted to this dtype (mask broadcasts). */
    public Tensor maskedFill(Tensor mask, double value) {
        return where(mask, Creation.full(dtype(), value, Shape.scalar(), device()), this);
    }

    /** {@code condition ? a : b} elementwise, broadcasting all three. */
    public static Tensor where(Tensor condition, Tensor a, Tensor b) {
        return Ops.where(condition, a, b);
    }

    // ---------------------------------------------------------------- reductions

    /** The sum of all elements (rank 0). */
    public Tensor sum() {
        return sum(Views.allDims(rank()), false);
    }

    public Tensor sum(int dim) {
        return sum(new int[] {dim}, false);
    }

    public Tensor sum(int[] dims, boolean keepdim) {
        return Ops.reduce(ReduceOp.SUM, this, dims, keepdim);
    }

    public Tensor mean() {
        return mean(Views.allDims(rank()), false);
    }

    public Tensor mean(int dim) {
        return mean(new int[] {dim}, false);
    }

    public Tensor mean(int[] dims, boolean keepdim) {
        long n = Views.countOver(shape(), dims, "mean");
        return Ops.floatLike(this).sum(dims, keepdim).div((double) n);
    }
    /** The largest element (rank 0); NaN if any is NaN. */
    public Tensor max() {
        return max(Views.allDims(rank()), false);
    }

    public Tensor max(int dim) {
        return max(new int[] {dim}, false);
    }

    public Tensor max(int[] dims, boolean keepdim) {
        return Ops.reduce(ReduceOp.MAX, this, dims, keepdim);
    }

    public Tensor min() {
        return min(Views.allDims(rank()), false);
    }

    public Tensor min(int dim) {
        return min(new int[] {dim}, false);
    }

    public Tensor min(int[] dims, boolean keepdim) {
        return Ops.reduce(ReduceOp.MIN, this, dims, keepdim);
    }
    /** The flat index of the largest element (I64, rank 0). */
    public Tensor argmax() {
        return flatten().argmax(0, false);
    }

    public Tensor argmax(int dim, boolean keepdim) {
        return Ops.reduce(ReduceOp.ARGMAX, this, new int[] {dim}, keepdim);
    }

    public Tensor argmin() {
        return flatten().argmin(0, false);
    }

    public Tensor argmin(int dim, boolean keepdim) {
        return Ops.reduce(ReduceOp.ARGMIN, this, new int[] {dim}, keepdim);
    }
    /** The unbiased variance of all elements (correction 1, PyTorch's default). */
    public Tensor var() {
        return var(Views.allDims(rank()), 1, false);
    }
    /** Variance over {@code dims} with Bessel's {@code correction} (0 = population, 1 = sample). */
    public Tensor var(int[] dims, int correction, boolean keepdim) {
        long n = Views.countOver(shape(), dims, "var");
        Tensor x = Ops.floatLike(this);
        Tensor c = x.sub(x.mean(dims, true));
        return c.mul(c).sum(dims, keepdim).div((double) Math.max(n - correction, 0));
    }

    // ---------------------------------------------------------------- linear algebra and nn primitives

    /** torch.matmul: 1-D operands are promoted and squeezed; batch dimensions broadcast. */
    public Tensor matmul(Tensor other) {
        return Ops.matmul(this, other);
    }
    /**
     * this·other + bias + residual for other [K, N] (this [..., M, K]), bias [N] added to every row and residual of
     * the product's shape, either null when absent: {@code matmul(other).add(bias).add(residual)}, element for
     * element. Without gradients the SIMD backend adds both as its F32 GEMM writes the product, sparing the passes
     * over it.
     */
    public Tensor matmulAdd(Tensor other, Tensor bias, Tensor residual) {
        return Fused.matmulAdd(this, other, bias, residual, null);
    }

    /**
     * {@link #matmulAdd(Tensor, Tensor, Tensor)} followed by the elementwise {@code activation} (null: none), as
     * {@link #gelu()}, {@link #relu()} and the other unary ops compute it; fused into the product the same way.
     */
    public Tensor matmulAdd(Tensor other, Tensor bias, Tensor residual, UnaryOp activation) {
        return Fused.matmulAdd(this, other, bias, residual, activation);
    }

    /** Softmax along {@code dim}. */
    public Tensor softmax(int dim) {
        return Fused.softmax(this, dim, false);
    }
    /** Log-softmax along {@code dim}. */
    public Tensor logSoftmax(int dim) {
        return Fused.softmax(this, dim, true);
    }
    /** Layer norm over the last dimension (weight and bias may be null). */
    public Tensor layerNorm(Tensor weight, Tensor bias, double eps) {
        return Fused.layerNorm(this, weight, bias, eps);
    }
    /** RMS norm over the last dimension (weight may be null). */
    public Tensor rmsNorm(Tensor weight, double eps) {
        return Fused.rmsNorm(this, weight, eps);
    }
    /** Rows of {@code weight} [vocab, dim] picked by integer {@code ids} of any shape: result ids.shape + [dim]. */
    public static Tensor embedding(Tensor weight, Tensor ids) {
        if (weight.rank() != 2)
            throw new IllegalArgumentException("embedding: weight must be 2-D [num, dim], got " + weight.shape());
        long[] out = Arrays.copyOf(ids.dims(), ids.rank() + 1);
        out[ids.rank()] = weight.size(1);
        return weight.indexSelect(0, ids.flatten()).reshape(out);
    }
    /**
     * Rotary position embedding of this [..., seq, dim] tensor with cos/sin tables of shape [seq, dim/2].
     * {@code interleaved}: rotate pairs (x[2i], x[2i+1]) (llama2.c, GGUF llama); else halves (x[i], x[i+dim/2])
     * (HuggingFace Llama).
     */
    public Tensor rope(Tensor cos, Tensor sin, boolean interleaved) {
        return Fused.rope(this, cos, sin, interleaved);
    }

    /**
     * softmax(q·kᵀ·scale [+ causal mask])·v for q [B, Hq, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv]; Hkv may divide
     * Hq (grouped-query attention). The causal mask aligns queries to the end of the keys (query i sees keys
     * j ≤ i + Lk − Lq), which is what decoding against a KV cache needs; for Lq = Lk it is the usual lower triangle.
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, boolean causal, double scale) {
        return Fused.attention(q, k, v, null, causal, scale);
    }

    /**
     * Attention as {@link #scaledDotProductAttention(Tensor, Tensor, Tensor, boolean, double)} with a mask that
     * broadcasts to the scores [B, Hq, Lq, Lk] (typically [B, 1, Lq, Lk] or [B, 1, 1, Lk] for padded batches): BOOL
     * where true lets the key take part (PyTorch's rule), or a float mask added to the scores. The mask gets no
     * gradient. A query that sees no key (every key masked) gives NaN.
     */
    public static Tensor scaledDotProductAttention(
            Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        return Fused.attention(q, k, v, mask, causal, scale);
    }

    /** Entries along {@code dim} picked by the 1-D integer {@code index}. */
    public Tensor indexSelect(int dim, Tensor index) {
        return Ops.indexSelect(this, dim, index);
    }
    /** torch.gather along {@code dim}. */
    public Tensor gather(int dim, Tensor index) {
        return Ops.gather(this, dim, index);
    }
    /** A copy with {@code src} rows added at {@code index} along {@code dim} (torch.index_add, out of place). */
    public Tensor indexAdd(int dim, Tensor index, Tensor src) {
        return Ops.indexAdd(this, dim, index, src);
    }
    /** A copy with {@code src} added at {@code index} along {@code dim} (torch.scatter_add, out of place). */
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) {
        return Ops.scatterAdd(this, dim, index, src);
    }

    /** Concatenation along {@code dim}. */
    public static Tensor cat(List<Tensor> tensors, int dim) {
        return Ops.cat(tensors, dim);
    }
    /** Stacks equal-shaped tensors along a new dimension {@code dim}. */
    public static Tensor stack(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("stack: expects a non-empty list");
        List<Tensor> u = new ArrayList<>();
        for (Tensor t : tensors) {
            if (!t.shape().equals(tensors.get(0).shape()))
                throw new IllegalArgumentException(
                        "stack: shapes " + tensors.get(0).shape() + " and " + t.shape() + " differ");
            u.add(t.unsqueeze(dim));
        }
        return cat(u, dim);
    }
    /** Views of {@code splitSize} along {@code dim} (the last may be shorter). */
    public List<Tensor> split(long splitSize, int dim) {
        if (splitSize <= 0) throw new IllegalArgumentException("split: split size must be positive, got " + splitSize);
        List<Tensor> out = new ArrayList<>();
        long n = size(dim);
        for (long s = 0; s < n; s += splitSize) out.add(narrow(dim, s, Math.min(splitSize, n - s)));
        return out;
    }
    /** {@code chunks} views along {@code dim} of size ceil(n/chunks) (PyTorch's rule). */
    public List<Tensor> chunk(int chunks, int dim) {
        if (chunks <= 0) throw new IllegalArgumentException("chunk: number of chunks must be positive, got " + chunks);
        long n = size(dim);
        return split(Math.max(1, (n + chunks - 1) / chunks), dim);
    }

    // ---------------------------------------------------------------- back to Java

    /** Row-major values as floats (converted from any dtype). */
    public float[] toFloatArray() {
        return Creation.toFloatArray(this);
    }
    /** Row-major values as doubles. */
    public double[] toDoubleArray() {
        return Creation.toDoubleArray(this);
    }
    /** Row-major values as longs (integers exact; floats cast). */
    public long[] toLongArray() {
        return Creation.toLongArray(this);
    }
    /** Row-major values as ints. */
    public int[] toIntArray() {
        return Arrays.stream(toLongArray()).mapToInt(v -> (int) v).toArray();
    }
    /** The value of a one-element tensor (copied from its device). */
    public double item() {
        if (numel() != 1)
            throw new IllegalArgumentException("item: tensor " + describe() + " has " + numel() + " elements, not 1");
        Tensor h = host("item");
        return Elements.get(h.storage.segment(), dtype(), h.layout.offset());
    }
    /** The element at {@code index} (one per dimension). */
    public double get(long... index) {
        checkAlive("get");
        if (device().kind() != Device.Kind.CPU) {
            layout.indexOf(index); // the bounds check, before any copy
            Tensor h = host("get");
            return Elements.get(h.storage.segment(), dtype(), h.layout.indexOf(index));
        }
        return Elements.get(storage.segment(), dtype(), layout.indexOf(index));
    }

    /**
     * This tensor's values where the CPU can read them: itself on the CPU, else a contiguous host copy made by its
     * backend (not recorded by autograd).
     */
    Tensor host(String op) {
        checkAlive(op);
        if (device().kind() == Device.Kind.CPU) return this;
        Storage h = MemoryScope.allocate(Backends.forDevice(Device.CPU), dtype(), numel());
        Tensor out = new Tensor(h, Layout.contiguous(shape()));
        backend().copy(storage, layout, h, out.layout);
        return out;
    }

    /** Like PyTorch: {@code tensor([[1., 2.], [3., 4.]], shape=[2, 2])}, long tensors elided. */
    @Override
    public String toString() {
        return TensorFormat.format(this);
    }
}
