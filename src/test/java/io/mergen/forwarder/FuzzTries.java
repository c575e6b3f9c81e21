package io.mergen.forwarder;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * Sets the tries of every property of a fuzz test from {@code -Dfuzz.tries} (default 1000), so CI runs a bounded
 * set in well under a minute and a long run is one flag away:
 *
 * <pre>{@code ./run-tests -Dtest='*Fuzz*' -Dfuzz.tries=200000}</pre>
 *
 * (or {@code mvn test -Dtest='*Fuzz*' -Dfuzz.tries=200000}; Surefire hands {@code -D} properties to the test JVM).
 * Put {@code @AddLifecycleHook(FuzzTries.class)} on the test class; a property whose tries are expensive takes
 * a {@link Share} of them.
 */
public final class FuzzTries implements AroundPropertyHook {
    public static final String PROPERTY = "fuzz.tries";
    static final int DEFAULT_TRIES = 1000;

    /** Runs {@code percent} of the fuzz tries (at least one), for properties that do much more work per try. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.METHOD)
    public @interface Share {
        int percent();
    }

    /** The tries asked for with {@code -Dfuzz.tries}, or the CI default. */
    public static int tries() {
        String value = System.getProperty(PROPERTY, "").strip();
        if (value.isEmpty()) {
            return DEFAULT_TRIES;
        }
        try {
            int tries = Integer.parseInt(value);
            if (tries > 0) {
                return tries;
            }
        } catch (NumberFormatException e) {
            // Reported below, with the expected form.
        }
        throw new IllegalArgumentException(PROPERTY + ": " + value + " (expected: a positive integer)");
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        int percent = context.findAnnotation(Share.class).map(Share::percent).orElse(100);
        context.attributes().setTries((int) Math.max(1, (long) tries() * percent / 100));
        return property.execute();
    }

    /** Registered on a test class, it applies to the class's properties. */
    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }
}
