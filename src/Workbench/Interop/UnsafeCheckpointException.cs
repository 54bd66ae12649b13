namespace Workbench.Interop;

/// <summary>
/// A checkpoint holds something other than tensors, dicts, lists, tuples, numbers, strings, None and bools (a pickled
/// class or function: reading it the way Python does would run code). The message names the file and the global.
/// An <see cref="IOException"/> (<see cref="InvalidDataException"/> is sealed), so the command line reports it in one
/// line with exit code 2.
/// </summary>
public sealed class UnsafeCheckpointException(string message) : IOException(message);
