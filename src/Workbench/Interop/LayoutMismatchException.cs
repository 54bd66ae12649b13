namespace Workbench.Interop;

/// <summary>
/// A PyTorch state dict does not fit the layout and config it is read as: the message lists every unknown key,
/// missing key and shape mismatch by name (one per line after the first) and the config that was inferred from
/// the file (the one that would fit its shapes). An <see cref="ArgumentException"/>, so the command line exits with 2.
/// </summary>
public sealed class LayoutMismatchException(string message) : ArgumentException(message);
