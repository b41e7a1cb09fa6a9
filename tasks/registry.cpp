#include "tasks/registry.hpp"

#include "tasks/autoencoder.hpp"
#include "tasks/cartpole.hpp"
#include "tasks/cifar.hpp"
#include "tasks/gaussian_clusters.hpp"
#include "tasks/image_classification.hpp"
#include "tasks/noisy_teacher.hpp"
#include "tasks/pca.hpp"
#include "tasks/sinusoid.hpp"
#include "tasks/subspace_teacher.hpp"
#include "tasks/teachers.hpp"

namespace plast {

void register_tasks(TaskRegistry& r) {
  r.add({"fashion_mnist", "Fashion-MNIST 10-class images (Xiao et al. 2017); data: scripts/get-data",
         ImageClassification::params(), [](const ParamValues& p) {
           return std::make_shared<ImageClassification>("fashion_mnist", "fashion-mnist", p);
         }});
  r.add({"mnist", "MNIST digits (LeCun et al. 1998); data: scripts/get-data", ImageClassification::params(),
         [](const ParamValues& p) { return std::make_shared<ImageClassification>("mnist", "mnist", p); }});
  r.add({"cifar10", "CIFAR-10 32x32 colour images, 10 classes, HWC inputs (Krizhevsky 2009); data: data/cifar-10-batches-bin, see scripts/get-data",
         ImageClassification::params(), [](const ParamValues& p) {
           return std::make_shared<ImageClassification>("cifar10", cifar10_format().folder, p, cifar10_data);
         }});
  r.add({"cifar100", "CIFAR-100 32x32 colour images, 100 fine classes, HWC inputs (Krizhevsky 2009); data: data/cifar-100-binary, see scripts/get-data",
         ImageClassification::params(), [](const ParamValues& p) {
           return std::make_shared<ImageClassification>("cifar100", cifar100_format().folder, p, cifar100_data);
         }});
  r.add({"autoencoder", "reconstruct MNIST or Fashion-MNIST images, squared loss, default 784-200-2-200-784 "
         "(Lansdell, Prakash & Kording 2020); data: scripts/get-data",
         Autoencoder::params(), [](const ParamValues& p) { return std::make_shared<Autoencoder>(p); }});
  r.add({"linear_teacher", "y = T x, T ~ U[-1,1], x ~ N(0,I) (Lillicrap et al. 2016)", LinearTeacher::params(),
         [](const ParamValues& p) { return std::make_shared<LinearTeacher>(p); }});
  r.add({"noisy_linear_teacher", "linear_teacher with fresh Gaussian noise on the training inputs at every step (Bishop 1995)",
         NoisyLinearTeacher::params(), [](const ParamValues& p) { return std::make_shared<NoisyLinearTeacher>(p); }});
  r.add({"pca", "top principal component by a linear neuron, random rotation/scale/mean per task (Oja 1982)",
         PcaTask::params(), [](const ParamValues& p) { return std::make_shared<PcaTask>(p); }});
  r.add({"mlp_teacher", "regression on a random tanh teacher network (Saad & Solla 1995; Goldt et al. 2019)",
         MlpTeacher::params(), [](const ParamValues& p) { return std::make_shared<MlpTeacher>(p); }});
  r.add({"subspace_teacher", "tanh teachers theta_0 + U c that differ only along k shared random directions U of weight "
         "space (fast learning on the axis that matters)",
         SubspaceTeacher::params(), [](const ParamValues& p) { return std::make_shared<SubspaceTeacher>(p); }});
  r.add({"sinusoid", "K-shot regression of A sin(x - phi), A ~ U[0.1, 5], phi ~ U[0, pi], x ~ U[-5, 5], "
         "1-40-40-1 ReLU student (Finn et al. 2017, MAML 5.1)",
         Sinusoid::params(), [](const ParamValues& p) { return std::make_shared<Sinusoid>(p); }});
  r.add({"gaussian_clusters", "online 5-way classification of Gaussian clusters in 32-D (Shervani-Tabar & Rosenbaum 2023 setting)",
         GaussianClusters::params(), [](const ParamValues& p) { return std::make_shared<GaussianClusters>(p); }});
  r.add({"cartpole", "balance a pole, policy learns within each episode from fresh weights (Barto et al. 1983; Najarro & Risi 2020)",
         CartPoleTask::params(), [](const ParamValues& p) { return std::make_shared<CartPoleTask>(p); }});
}

const TaskRegistry& task_registry() {
  static const TaskRegistry registry = [] {
    TaskRegistry r("task");
    register_tasks(r);
    return r;
  }();
  return registry;
}

}  // namespace plast
