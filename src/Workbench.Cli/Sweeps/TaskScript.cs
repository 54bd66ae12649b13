using System.Text;

namespace Workbench.Cli.Sweeps;

/// <summary>
/// Writes <c>task.sh</c>, the body that runs one point (<c>bash task.sh INDEX</c>) under either backend: it runs
/// <c>workbench train --resume POINT</c> when the point has a checkpoint, else the point's first
/// <c>workbench train … --out POINT</c>; train's stdout goes to <c>POINT/train.out</c>, its stderr is appended to
/// <c>POINT/train.err</c>; on success the last stdout line (train's JSON result) is copied to
/// <c>POINT/result.json</c>; each attempt's command line and thread count (<c>OMP_NUM_THREADS</c>) are logged to
/// <c>POINT/train.err</c> first; the exit code goes to <c>POINT/exit_code</c>; <c>POINT/running</c> (host, pid and Slurm
/// task) exists while it runs. SIGTERM or SIGINT is passed on to train, which checkpoints and exits.
/// </summary>
public static class TaskScript
{
    /// <summary>The files a point's run leaves next to the run folder's own.</summary>
    public const string ResultFile = "result.json", ExitCodeFile = "exit_code", RunningFile = "running", OutFile = "train.out", ErrFile = "train.err";

    public static void Write(string dir, IReadOnlyList<SweepPoint> points)
    {
        var sb = new StringBuilder();
        sb.Append("""
            #!/usr/bin/env bash
            # One point of this sweep: `bash task.sh INDEX` (INDEX as in sweep.json; the Slurm array task id).
            # Written by `workbench sweep run`: resumes the point from its checkpoint when there is one, else starts it.
            set -u
            here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

            """);
        sb.Append("wb=( ").Append(string.Join(" ", WorkbenchExecutable.Command().Select(Quote))).Append(" )\n");
        sb.Append("case \"${1:-}\" in\n");
        foreach (var p in points)
            sb.Append($"  {p.Index}) name={Quote(p.Name)}; first=( {string.Join(" ", p.TrainArgs.Select(Quote))} ); more=( {string.Join(" ", p.ResumeArgs.Select(Quote))} ) ;;\n");
        sb.Append("  *) echo \"task.sh: no point '${1:-}' (0-").Append(points.Count - 1).Append(")\" >&2; exit 2 ;;\nesac\n");
        sb.Append($$"""
            out="$here/$name"
            mkdir -p "$out"
            rm -f "$out/{{ExitCodeFile}}"
            echo "$(hostname -s) $$ ${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID}" > "$out/{{RunningFile}}"
            if [ -f "$out/{{RunFolder.LastCheckpoint("").TrimStart('/')}}" ]; then
              cmd=( "${wb[@]}" train --resume "$out" "${more[@]}" )
            else
              cmd=( "${wb[@]}" "${first[@]}" --out "$out" )
            fi
            echo "$(date -u +%FT%TZ) $(hostname -s) threads=${OMP_NUM_THREADS:-unset}: ${cmd[*]}" >> "$out/{{ErrFile}}"
            "${cmd[@]}" > "$out/{{OutFile}}" 2>> "$out/{{ErrFile}}" &
            child=$!
            trap 'kill -TERM "$child" 2>/dev/null' TERM INT
            wait "$child"; rc=$?
            while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
            if [ "$rc" -eq 0 ]; then
              tail -n 1 "$out/{{OutFile}}" > "$out/{{ResultFile}}.tmp" && mv "$out/{{ResultFile}}.tmp" "$out/{{ResultFile}}"
            fi
            echo "$rc" > "$out/{{ExitCodeFile}}"
            rm -f "$out/{{RunningFile}}"
            exit "$rc"

            """);
        var path = SweepFolder.TaskScriptPath(dir);
        File.WriteAllText(path + ".tmp", sb.ToString().Replace("\r\n", "\n"));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>A word for bash: single-quoted, with embedded single quotes as <c>'\''</c>.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''") + "'";
}
