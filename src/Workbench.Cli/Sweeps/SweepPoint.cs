namespace Workbench.Cli.Sweeps;

/// <summary>
/// One run of a sweep: its folder name under the sweep folder, the grid values it takes (<see cref="Values"/>, in
/// axis order), its seed, and the <c>workbench train</c> arguments that start it (without <c>--out</c>).
/// </summary>
/// <param name="Index">position in the expansion (the Slurm array task id).</param>
/// <param name="Name">folder name, e.g. <c>Permutation-Reverse_Coupling-Additive_seed-0</c>.</param>
/// <param name="Setting">the grid values as text without the seed, e.g. <c>Permutation=Reverse Coupling=Additive</c>
/// (points that differ only in the seed share it; the report averages over them).</param>
/// <param name="Values">grid axis → value of this point.</param>
/// <param name="Seed">the <c>train --seed</c>.</param>
/// <param name="TrainArgs">arguments of the first <c>workbench train</c> (the sweep adds <c>--out</c>).</param>
/// <param name="ResumeArgs">arguments added to <c>workbench train --resume</c> when the point continues.</param>
public sealed record SweepPoint(int Index, string Name, string Setting, IReadOnlyDictionary<string, string> Values, long Seed,
    IReadOnlyList<string> TrainArgs, IReadOnlyList<string> ResumeArgs);
