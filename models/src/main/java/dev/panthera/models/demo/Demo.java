package dev.panthera.models.demo;

/** The main demo. */
public final class Demo {
    private Demo() {}
    public static void main(String[] args) {
        System.out.println("Panthera demo");
    }
}
