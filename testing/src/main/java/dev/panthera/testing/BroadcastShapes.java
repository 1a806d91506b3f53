package dev.panthera.testing;

import dev.panthera.tensor.Shape;
import java.util.List;

/** Operand shapes that broadcast together and the shape they broadcast to (NumPy rules). */
public record BroadcastShapes(List<Shape> inputs, Shape result) {
    public BroadcastShapes {
        inputs = List.copyOf(inputs);
    }

    /** The operands with their broadcast result, computed by {@link Shape#broadcast}. */
    public static BroadcastShapes of(List<Shape> inputs) {
        Shape r = inputs.getFirst();
        for (Shape s : inputs.subList(1, inputs.size())) r = Shape.broadcast("broadcastable", r, s);
        return new BroadcastShapes(inputs, r);
    }

    @Override
    public String toString() {
        return inputs + " -> " + result;
    }
}
