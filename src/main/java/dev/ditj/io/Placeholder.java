package dev.ditj.io;

/**
 * An inert stand-in for an allow-listed Python object that is not a tensor or container ({@code argparse.Namespace},
 * {@code torch.device}, numpy scalars, Lightning callbacks, {@code set}, ...). Nothing is ever executed: the
 * placeholder only records what the pickle said, so a loader can skip it or show it.
 *
 * <ul>
 *   <li>{@link #global()}: {@code module.name} of the class or function, e.g. {@code "argparse.Namespace"}.</li>
 *   <li>{@link #args()}: the {@link Tuple} of call arguments (REDUCE/NEWOBJ); {@code null} for a bare class
 *       reference, e.g. a Lightning callback class used as a dict key.</li>
 *   <li>{@link #state()}: what BUILD passed ({@code __setstate__}/{@code __dict__}, e.g. the Namespace's fields as a
 *       {@code Map}); {@code null} if there was no BUILD.</li>
 * </ul>
 * Identity semantics ({@code equals} is {@code ==}): the state is filled in after construction, as in pickle.
 */
public final class Placeholder {
    private final String global;
    private final Object args;
    private final boolean classReference;
    private Object state;

    Placeholder(String global, Object args, boolean classReference) {
        this.global = global;
        this.args = args;
        this.classReference = classReference;
    }

    public String global() {
        return global;
    }

    public Object args() {
        return args;
    }

    public Object state() {
        return state;
    }

    /** True for the class/function itself (what GLOBAL pushed), false for the result of calling it. */
    public boolean isClassReference() {
        return classReference;
    }

    void setState(Object state) {
        this.state = state;
    }

    @Override
    public String toString() {
        if (classReference) return "<" + global + ">";
        return global + args + (state == null ? "" : " state=" + state);
    }
}
