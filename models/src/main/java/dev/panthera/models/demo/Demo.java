package dev.panthera.models.demo;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Backends;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;

/**
 * The main demo ({@code ./panthera demo}): tensors, broadcasting, a matmul and one step of gradient descent, with
 * their printed results.
 */
public final class Demo {
    private Demo() {}

    public static void main(String[] args) throws Exception {
        System.out.println("Panthera demo — backends: " + Backends.available());
        try (var scope = MemoryScope.open()) { // every tensor below is freed when this block ends
            Tensor a = Tensor.of(new float[][] {{1, 2, 3}, {4, 5, 6}});
            System.out.println("\na =\n" + a);

            Tensor bias = Tensor.of(10f, 20f, 30f);
            System.out.println("\na + [10, 20, 30]  (broadcast over rows) =\n" + a.add(bias));
            System.out.println(
                    "\na * [[2], [-1]]  (broadcast over columns) =\n" + a.mul(Tensor.of(new float[] {2, -1}, 2, 1)));

            Tensor b = Tensor.arange(0, 6, 1).reshape(3, 2).to(dev.panthera.tensor.DType.F32);
            System.out.println("\nb = arange(6).reshape(3, 2) =\n" + b);
            System.out.println("\na.matmul(b) =\n" + a.matmul(b));
            System.out.println("\nsoftmax(a, dim=-1) =\n" + a.softmax(-1));

            // one step of gradient descent on a least-squares fit y ≈ x·w
            Tensor x = Tensor.randn(Shape.of(8, 3), 7);
            Tensor wTrue = Tensor.of(new float[] {1.5f, -2f, 0.5f}, 3, 1);
            Tensor y = x.matmul(wTrue);
            Tensor w = Tensor.zeros(3, 1).requiresGrad(true);
            Tensor loss = x.matmul(w).sub(y).pow(2).mean();
            loss.backward();
            System.out.println("\nleast squares: loss(w=0) = " + String.format("%.6f", loss.item()));
            System.out.println("dloss/dw =\n" + w.grad());
            try (var ng = Autograd.noGrad()) {
                w.copy_(w.sub(w.grad().mul(0.1)));
            }
            Tensor after = x.matmul(w).sub(y).pow(2).mean();
            System.out.println("after one SGD step (lr 0.1): loss = " + String.format("%.6f", after.item()));
        }
    }
}
