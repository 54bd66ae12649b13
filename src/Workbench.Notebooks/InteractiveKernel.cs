using System.Collections.Concurrent;
using System.Reactive.Linq;
using System.Runtime.Loader;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace Workbench.Notebooks;

/// <summary>
/// The kernel <c>notebook run</c> executes cells on: .NET Interactive's <see cref="CompositeKernel"/> with its C#
/// kernel, set up the way the dotnet-interactive tool sets it up for Polyglot Notebooks and Jupyter: the kernel
/// helpers (<c>display</c>, <c>HTML</c>, …), <c>#r "nuget: …"</c> through Microsoft.DotNet.Interactive.PackageManagement,
/// and the kernel extensions a package carries in <c>interactive-extensions/dotnet</c> (Microsoft.Data.Analysis's
/// DataFrame formatter among them), loaded once the command that added the package has finished.
/// </summary>
public static class InteractiveKernel
{
    public static CompositeKernel Create()
    {
        var csharp = new CSharpKernel().UseKernelHelpers().UseValueSharing();
        csharp.UseNugetDirective((kernel, packages) =>
        {
            kernel.AddAssemblyReferences(packages.SelectMany(p => p.AssemblyPaths));
            return Task.CompletedTask;
        }, forceRestore: false);

        var composite = new CompositeKernel { csharp };
        composite.DefaultKernelName = csharp.Name;
        LoadPackageExtensions(composite);
        return composite;
    }

    /// <summary>Package roots seen in <see cref="PackageAdded"/> events are searched for kernel extensions after
    /// the command that added them, as the tool does (extensions must not run inside the restore).</summary>
    static void LoadPackageExtensions(CompositeKernel kernel)
    {
        var pending = new ConcurrentQueue<string>();
        var seen = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        kernel.RegisterForDisposal(kernel.KernelEvents
            .OfType<PackageAdded>()
            .Subscribe(e =>
            {
                if (e.PackageReference.PackageRoot is { } root && seen.TryAdd(root, true)) pending.Enqueue(root);
            }));

        kernel.AddMiddleware(async (command, context, next) =>
        {
            await next(command, context);
            while (pending.TryDequeue(out var root))
            {
                var folder = Path.Combine(root, "interactive-extensions", "dotnet");
                if (!Directory.Exists(folder)) continue;
                foreach (var dll in Directory.GetFiles(folder, "*.dll").Order(StringComparer.Ordinal))
                {
                    var assembly = LoadOnce(dll);
                    foreach (var type in assembly.GetExportedTypes())
                    {
                        if (type.IsAbstract || type.IsInterface || type.IsGenericTypeDefinition || !typeof(IKernelExtension).IsAssignableFrom(type))
                            continue;
                        await ((IKernelExtension)Activator.CreateInstance(type)!).OnLoadAsync(kernel);
                    }
                }
            }
        });
    }

    /// <summary>An extension assembly already loaded by an earlier kernel in this process (another notebook, or
    /// another version of the package: TorchSharp brings SkiaSharp 2.88 where a notebook names 3.119) is reused;
    /// loading a second assembly of the same name into the default context would fail.</summary>
    static System.Reflection.Assembly LoadOnce(string path)
    {
        var name = System.Reflection.AssemblyName.GetAssemblyName(path).Name;
        return AssemblyLoadContext.Default.Assemblies.FirstOrDefault(a => a.GetName().Name == name)
               ?? AssemblyLoadContext.Default.LoadFromAssemblyPath(path);
    }
}
